// Answers as markdown, safely: marked turns the model's text into HTML, DOMPurify keeps only the
// elements and links a chat answer needs, and the result comes back as DOM nodes (never assigned as
// an HTML string). A model's output is untrusted: it may quote a hostile page it was shown.

import { Marked } from "./vendor/marked.esm.js";
import DOMPurify from "./vendor/purify.es.mjs";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const marked = new Marked({
    gfm: true,
    breaks: true, // a chat model's single newlines are line breaks
    async: false,
    renderer: {
        // Raw HTML in an answer is shown as the text it is: a model quoting markup stays readable and inert.
        html: ({ text }) => escapeHtml(text),
        // An image in an answer becomes a link: loading it would tell a third party what was asked
        // (the CSP refuses other hosts' images anyway).
        image: ({ href, text }) => (href ? `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>` : escapeHtml(text)),
        // Task lists as plain marks: no form controls in answers.
        checkbox: ({ checked }) => (checked ? "☑ " : "☐ "),
    },
});

const PURIFY = {
    ALLOWED_TAGS: [
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "strong",
        "em",
        "del",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ],
    ALLOWED_ATTR: ["href", "title", "class", "start", "align"],
    // Links to the web and mail only: no javascript:, data:, or paths on this server.
    ALLOWED_URI_REGEXP: /^(?:https?|mailto):/i,
    RETURN_DOM_FRAGMENT: true,
};

// Links open elsewhere and tell the target nothing about this page.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
    }
});

/** The markdown `src` as sanitized DOM nodes; each code block gets a bar with its language and a Copy button. */
export function renderMarkdown(src) {
    const fragment = DOMPurify.sanitize(marked.parse(src), PURIFY);
    for (const pre of fragment.querySelectorAll("pre")) {
        const lang = /(?:^|\s)language-(\S+)/.exec(pre.querySelector("code")?.className || "")?.[1] || "";
        const bar = document.createElement("div");
        bar.className = "code-bar";
        const label = document.createElement("span");
        label.textContent = lang || "code";
        const copy = document.createElement("button");
        copy.type = "button";
        copy.className = "copy-code";
        copy.textContent = "Copy code";
        bar.append(label, copy);
        const box = document.createElement("div");
        box.className = "code";
        pre.replaceWith(box);
        box.append(bar, pre);
    }
    return fragment;
}
