// Builds the text libmtmd tokenizes: each media part becomes libmtmd's marker inside the message
// text and the chat template renders plain strings, as llama-mtmd-cli and llama-server do; libmtmd
// then adds the model's own begin/end-of-media tokens around each media chunk.

import { createHash } from "node:crypto";
import type { ChatMessage, ChatTemplate } from "./chat-template.js";
import type { MediaItem } from "./native.js";

/** libmtmd's default media marker (mtmd_default_marker()); encoders are checked against it when opened. */
export const MEDIA_MARKER = "<__media__>";

export function mediaPromptText(
    template: ChatTemplate,
    messages: ChatMessage[],
    opts: { enableThinking?: boolean; tools?: object[] },
): string {
    const flat = messages.map((m) => ({
        ...m,
        content: typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : MEDIA_MARKER)).join(""),
    }));
    return template.render(flat, { addGenerationPrompt: true, enableThinking: opts.enableThinking, tools: opts.tools });
}

export function countMarkers(text: string): number {
    return text.split(MEDIA_MARKER).length - 1;
}

/** A content id for an image or a clip (SHA-256 of its size and data): the KV cache recognises media already evaluated by it. */
export function withMediaId(item: MediaItem): MediaItem {
    const h = createHash("sha256");
    if ("samples" in item)
        h.update(`audio:${item.samples.length}:`).update(
            new Uint8Array(item.samples.buffer, item.samples.byteOffset, item.samples.byteLength),
        );
    else h.update(`image:${item.width}x${item.height}:`).update(item.rgb);
    return { ...item, id: h.digest("hex").slice(0, 32) };
}
