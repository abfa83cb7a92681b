// OpenAI chat messages to autoglm's: roles mapped to the GLM template's, text parts joined, images
// and audio turned into prompt parts by the runtime's media policy, in the order they appear.

import type { ChatMessage, ContentPart } from "../engine/chat-template.js";
import type { MediaPolicy } from "../engine/media-policy.js";
import { ApiError } from "./errors.js";
import { audioBytes, imageBytes, type MediaSources } from "./media.js";
import type { ContentPartBody, MessageBody } from "./schemas.js";

const ROLES: Record<MessageBody["role"], ChatMessage["role"]> = {
    system: "system", developer: "system", user: "user", assistant: "assistant", tool: "observation", observation: "observation",
};

async function part(p: ContentPartBody, sources: MediaSources, media: MediaPolicy, signal?: AbortSignal): Promise<ContentPart> {
    switch (p.type) {
        case "text":
            if (typeof p.text !== "string") throw new ApiError(400, "a text part needs a text field", "invalid_request");
            return { type: "text", text: p.text };
        case "image_url":
        case "image": {
            const url = typeof p.image_url === "string" ? p.image_url : p.image_url?.url;
            if (!url) throw new ApiError(400, "an image_url part needs image_url.url", "invalid_image");
            media.requireVision(); // before the bytes are fetched or decoded
            return (await media.image(await imageBytes(url, sources))).part;
        }
        default: {
            if (!p.input_audio?.data) throw new ApiError(400, "an input_audio part needs input_audio.data", "invalid_audio");
            media.requireHearing();
            return (await media.audio(audioBytes(p.input_audio.data, p.input_audio.format), signal)).part;
        }
    }
}

/** Adjacent text parts merge, so a message renders as the template expects. */
function merged(parts: ContentPart[]): ChatMessage["content"] {
    const out: ContentPart[] = [];
    for (const p of parts) {
        const last = out[out.length - 1];
        if (p.type === "text" && last?.type === "text") out[out.length - 1] = { type: "text", text: last.text + p.text };
        else out.push(p);
    }
    return out.every((p) => p.type === "text") ? out.map((p) => (p as { text: string }).text).join("") : out;
}

export async function chatMessages(messages: MessageBody[], sources: MediaSources, media: MediaPolicy, signal?: AbortSignal): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    for (const m of messages) {
        const role = ROLES[m.role];
        const c = m.content;
        if (c === undefined || c === null) {
            // The OpenAI API lets only an assistant message (one that called a tool) go without content.
            if (m.role !== "assistant") throw new ApiError(400, `a ${m.role} message needs content`, "invalid_request");
            out.push({ role, content: "" });
        } else if (typeof c === "string") {
            out.push({ role, content: c });
        } else if (Array.isArray(c)) {
            const parts: ContentPart[] = [];
            for (const p of c) parts.push(await part(p, sources, media, signal));
            out.push({ role, content: merged(parts) });
        } else {
            // The seed article's composite input: media first, then the text, as a user would attach them.
            const parts: ContentPart[] = [];
            if (c.image) { media.requireVision(); parts.push((await media.image(await imageBytes(c.image, sources))).part); }
            if (c.audio) { media.requireHearing(); parts.push((await media.audio(audioBytes(c.audio, "wav"), signal)).part); }
            if (c.text) parts.push({ type: "text", text: c.text });
            out.push({ role, content: merged(parts) });
        }
    }
    if (out.some((m) => m.role !== "user" && typeof m.content !== "string" && m.content.some((p) => p.type !== "text"))) {
        throw new ApiError(400, "images and audio are accepted in user messages only", "invalid_media_role");
    }
    return out;
}
