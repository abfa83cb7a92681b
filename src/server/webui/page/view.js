// The page's pieces built as DOM: the turns of a conversation and the list of conversations. Text
// the user typed or the model thought is set as text; an answer goes through renderMarkdown only.

import { renderMarkdown } from "./markdown.js";

export function el(tag, props = {}, children = []) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === false) continue;
        if (k === "text") e.textContent = v;
        else if (k in e && typeof v !== "string") e[k] = v;
        else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
}

const action = (name, label, text) => el("button", { type: "button", class: "act", "data-action": name, "aria-label": label, text });

/** A user's message: its images and recordings, its text, and Copy / Edit. */
export function userView(t, index) {
    const turn = el("article", { class: "turn user", "aria-label": "You", "data-index": String(index) });
    for (const m of t.media) {
        if (m.kind === "image") turn.append(el("img", { src: m.url, alt: m.name, class: "thumb" }));
        else
            turn.append(
                el("figure", { class: "clip" }, [
                    el("audio", { controls: true, src: `data:audio/wav;base64,${m.data}` }),
                    el("figcaption", { text: m.name }),
                ]),
            );
    }
    if (t.text) turn.append(el("p", { class: "text", text: t.text }));
    turn.append(
        el("div", { class: "turn-actions" }, [
            action("copy", "Copy your message", "Copy"),
            action("edit", "Edit and resend your message", "Edit"),
        ]),
    );
    return turn;
}

/** The figures under an answer: prompt tokens (cached), first token, speed, length. */
function statsText(s) {
    const parts = [];
    if (s.prompt != null) parts.push(`${s.prompt} prompt tokens (${s.cached} cached)`);
    if (s.ttftMs != null) parts.push(`first token ${Math.round(s.ttftMs)} ms`);
    if (s.tokensPerSecond != null) parts.push(`${s.tokensPerSecond.toFixed(1)} tokens/s`);
    if (s.tokens != null) parts.push(`${s.tokens} tokens`);
    return parts.join(" · ");
}

/**
 * An answer, drawn from its message `m` ({content, reasoning, transcripts, stats, note, error, pending});
 * refresh() redraws what changed since the last call (the streaming loop calls it once a frame).
 */
export function assistantView(m, index) {
    const summary = el("summary");
    const thought = el("div", { class: "thought" });
    const thinking = el("details", { class: "thinking" }, [summary, thought]);
    const heard = el("div", { class: "heard" });
    const content = el("div", { class: "text markdown" });
    const stats = el("p", { class: "stats" });
    const notes = el("div", { class: "notes" });
    const regenerate = action("regenerate", "Regenerate this answer", "Regenerate");
    const turn = el("article", { class: "turn assistant", "aria-label": "Assistant", "data-index": String(index) }, [
        heard,
        thinking,
        content,
        stats,
        notes,
        el("div", { class: "turn-actions" }, [action("copy", "Copy the answer", "Copy"), regenerate]),
    ]);
    const drawn = { content: null, reasoning: null, transcripts: -1 };
    const refresh = () => {
        turn.setAttribute("aria-busy", m.pending ? "true" : "false");
        if (m.transcripts?.length !== drawn.transcripts) {
            drawn.transcripts = m.transcripts?.length ?? 0;
            // What the server's speech model heard in a recording (an extension chunk of autoglm's).
            heard.replaceChildren(...(m.transcripts ?? []).map((t) => el("p", { class: "transcript", text: `Heard: ${t}` })));
        }
        if (m.reasoning !== drawn.reasoning) {
            drawn.reasoning = m.reasoning;
            thought.textContent = m.reasoning;
        }
        thinking.hidden = !m.reasoning;
        summary.textContent = m.pending ? "Thinking…" : "Thinking";
        if (m.content !== drawn.content) {
            drawn.content = m.content;
            content.replaceChildren(renderMarkdown(m.content));
        }
        stats.textContent = m.stats ? statsText(m.stats) : "";
        if (m.stats?.prompt != null) {
            stats.dataset.promptTokens = String(m.stats.prompt);
            stats.dataset.cachedTokens = String(m.stats.cached);
        }
        notes.replaceChildren(
            ...(m.error ? [el("p", { class: "error", role: "alert", text: m.error })] : []),
            ...(m.note ? [el("p", { class: "note", text: m.note })] : []),
        );
    };
    refresh();
    return { turn, refresh };
}

/** One conversation in the list: open it, rename it, delete it. */
export function chatItem(meta, current) {
    return el("li", { "data-id": meta.id, class: current ? "current" : undefined }, [
        el("button", {
            type: "button",
            class: "open",
            "data-action": "open",
            "aria-current": current ? "true" : undefined,
            text: meta.title,
        }),
        el("button", {
            type: "button",
            class: "icon",
            "data-action": "rename",
            "aria-label": `Rename “${meta.title}”`,
            title: "Rename",
            text: "✎",
        }),
        el("button", {
            type: "button",
            class: "icon",
            "data-action": "delete",
            "aria-label": `Delete “${meta.title}”`,
            title: "Delete",
            text: "×",
        }),
    ]);
}
