// Builds the text libmtmd tokenizes: each media part becomes libmtmd's marker inside the message
// text and the chat template renders plain strings, as llama-mtmd-cli and llama-server do; libmtmd
// then adds the model's own begin/end-of-media tokens around each media chunk.

import type { ChatMessage, ChatTemplate } from "./chat-template.js";

export function mediaPromptText(template: ChatTemplate, messages: ChatMessage[], marker: string, opts: { enableThinking?: boolean }): string {
    const flat = messages.map((m) => ({
        ...m,
        content: typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : marker)).join(""),
    }));
    return template.render(flat, { addGenerationPrompt: true, enableThinking: opts.enableThinking });
}
