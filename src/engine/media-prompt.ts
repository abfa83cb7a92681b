// Builds the text libmtmd tokenizes: each media part becomes libmtmd's marker inside the message
// text and the chat template renders plain strings, as llama-mtmd-cli and llama-server do; libmtmd
// then adds the model's own begin/end-of-media tokens around each media chunk.

import { createHash } from "node:crypto";
import type { ChatMessage, ChatTemplate } from "./chat-template.js";
import type { MediaItem } from "./native.js";

/** libmtmd's default media marker (mtmd_default_marker()); encoders are checked against it when opened. */
export const MEDIA_MARKER = "<__media__>";

/**
 * `asText` prepares every client string the template renders (src/engine/text-tokens.ts: control-token
 * strings in it are broken, so they stay text): each message text, a GLM-4 call turn's function name
 * (`metadata`), and every key and string of the template's `tools` (names, descriptions, parameter
 * schemas). The markers are autoglm's own and pass as they are.
 */
export function mediaPromptText(
    template: ChatTemplate,
    messages: ChatMessage[],
    opts: { enableThinking?: boolean; tools?: object[]; asText?: (text: string) => string; addGenerationPrompt?: boolean },
): string {
    const asText = opts.asText ?? ((t: string) => t);
    const flat = messages.map((m) => ({
        ...m,
        content:
            typeof m.content === "string"
                ? asText(m.content)
                : m.content.map((p) => (p.type === "text" ? asText(p.text) : MEDIA_MARKER)).join(""),
        ...(m.metadata !== undefined ? { metadata: asText(m.metadata) } : {}),
    }));
    const tools = opts.tools && opts.asText ? (stringsAsText(opts.tools, asText) as object[]) : opts.tools;
    return template.render(flat, { addGenerationPrompt: opts.addGenerationPrompt ?? true, enableThinking: opts.enableThinking, tools });
}

/** A JSON value with `asText` applied to every string and object key in it (a template may print any of them). */
function stringsAsText(value: unknown, asText: (text: string) => string): unknown {
    if (typeof value === "string") return asText(value);
    if (Array.isArray(value)) return value.map((v) => stringsAsText(v, asText));
    if (value && typeof value === "object")
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [asText(k), stringsAsText(v, asText)]));
    return value;
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
