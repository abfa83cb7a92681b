// OpenAI chat messages to autoglm's: roles mapped to the GLM template's, text parts joined, images
// and audio decoded into media parts, in the order they appear in each message.

import type { ChatMessage, ContentPart } from "../engine/chat-template.js";
import { ApiError } from "./errors.js";
import { audioSamples, imageItem, type MediaPolicy } from "./media.js";
import type { ContentPartBody, MessageBody } from "./schemas.js";

/** What an audio clip becomes: an audio part for a model that hears, or its transcript as text. */
export type AudioRoute = (samples: Float32Array) => Promise<ContentPart>;

const ROLES: Record<MessageBody["role"], ChatMessage["role"]> = {
    system: "system", developer: "system", user: "user", assistant: "assistant", tool: "observation", observation: "observation",
};

async function part(p: ContentPartBody, policy: MediaPolicy, audio: AudioRoute): Promise<ContentPart> {
    switch (p.type) {
        case "text":
            return { type: "text", text: p.text ?? "" };
        case "image_url":
        case "image": {
            const url = typeof p.image_url === "string" ? p.image_url : p.image_url?.url;
            if (!url) throw new ApiError(400, "an image_url part needs image_url.url", "invalid_image");
            return { type: "image", item: await imageItem(url, policy) };
        }
        default: {
            if (!p.input_audio?.data) throw new ApiError(400, "an input_audio part needs input_audio.data", "invalid_audio");
            return audio(await audioSamples(p.input_audio.data, p.input_audio.format));
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

export async function chatMessages(messages: MessageBody[], policy: MediaPolicy, audio: AudioRoute): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    for (const m of messages) {
        const role = ROLES[m.role];
        const c = m.content;
        if (c === undefined || c === null || typeof c === "string") {
            out.push({ role, content: c ?? "" });
        } else if (Array.isArray(c)) {
            const parts: ContentPart[] = [];
            for (const p of c) parts.push(await part(p, policy, audio));
            out.push({ role, content: merged(parts) });
        } else {
            // The seed article's composite input: media first, then the text, as a user would attach them.
            const parts: ContentPart[] = [];
            if (c.image) parts.push({ type: "image", item: await imageItem(c.image, policy) });
            if (c.audio) parts.push(await audio(await audioSamples(c.audio, "wav")));
            if (c.text) parts.push({ type: "text", text: c.text });
            out.push({ role, content: merged(parts) });
        }
    }
    if (out.some((m) => m.role !== "user" && typeof m.content !== "string" && m.content.some((p) => p.type !== "text"))) {
        throw new ApiError(400, "images and audio are accepted in user messages only", "invalid_media_role");
    }
    return out;
}
