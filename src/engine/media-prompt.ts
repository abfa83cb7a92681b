// Builds the text libmtmd tokenizes: the chat template rendered with media parts, where the
// template's own image/audio placeholder becomes libmtmd's marker (libmtmd adds the model's
// begin/end-of-media tokens itself).

import type { ChatMessage, ChatTemplate } from "./chat-template.js";

const PLACEHOLDERS = [
    "<|begin_of_image|><|image|><|end_of_image|>",
    "<|begin_of_audio|><|audio|><|end_of_audio|>",
    "<|image|>",
    "<|audio|>",
];

export function mediaPromptText(template: ChatTemplate, messages: ChatMessage[], marker: string, opts: { enableThinking?: boolean }): string {
    let text = template.render(messages, { addGenerationPrompt: true, enableThinking: opts.enableThinking });
    const mediaParts = messages.reduce((n, m) => n + (Array.isArray(m.content) ? m.content.filter((p) => p.type !== "text").length : 0), 0);
    for (const p of PLACEHOLDERS) text = text.split(p).join(marker);
    const found = text.split(marker).length - 1;
    if (found !== mediaParts) {
        // A template without media support: put the markers at the start of the last user turn, as llama-mtmd-cli does.
        text = text.split(marker).join("");
        const at = text.lastIndexOf("<|user|>\n");
        const insert = marker.repeat(mediaParts);
        text = at >= 0 ? text.slice(0, at + "<|user|>\n".length) + insert + text.slice(at + "<|user|>\n".length) : insert + text;
    }
    return text;
}
