// OpenAI chat messages to autoglm's: roles mapped to the GLM template's, text parts joined, images
// and audio turned into prompt parts by the runtime's media policy, in the order they appear.
// In two steps, so that nothing is fetched or decoded for a request that will be refused:
// planMessages checks the shape, roles, media kinds and counts; decodeMessages (called once the
// request has its place in the slot queue) reads the bytes, checks every header, then decodes.

import { ResourceLoadError, UserError } from "../core/errors.js";
import type { ChatMessage, ContentPart } from "../engine/chat-template.js";
import type { MediaPolicy, PendingMedia } from "../engine/media-policy.js";
import { ApiError } from "./errors.js";
import { audioBytes, imageBytes, type MediaSources } from "./media.js";
import type { ContentPartBody, MessageBody } from "./schemas.js";

const ROLES: Record<MessageBody["role"], ChatMessage["role"]> = {
    system: "system",
    developer: "system",
    user: "user",
    assistant: "assistant",
    tool: "observation",
    observation: "observation",
};

/** A part before its media is read: text as it is, media as where its bytes come from. */
type PlannedPart = { type: "text"; text: string } | { type: "image"; url: string } | { type: "audio"; data: string; format?: string };
export interface MessagePlan {
    messages: { role: ChatMessage["role"]; content: string | PlannedPart[] }[];
    images: number;
    audios: number;
}

function planned(p: ContentPartBody): PlannedPart {
    switch (p.type) {
        case "text":
            if (typeof p.text !== "string") throw new ApiError(400, "a text part needs a text field", "invalid_request");
            return { type: "text", text: p.text };
        case "image_url":
        case "image": {
            const url = typeof p.image_url === "string" ? p.image_url : p.image_url?.url;
            if (!url) throw new ApiError(400, "an image_url part needs image_url.url", "invalid_image");
            return { type: "image", url };
        }
        default:
            if (!p.input_audio?.data) throw new ApiError(400, "an input_audio part needs input_audio.data", "invalid_audio");
            return { type: "audio", data: p.input_audio.data, format: p.input_audio.format ?? undefined };
    }
}

/** Checks everything that needs no media bytes: shapes, roles, and the media kinds and counts against what this model can use. */
export function planMessages(messages: MessageBody[], media: MediaPolicy): MessagePlan {
    const out: MessagePlan["messages"] = [];
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
            out.push({ role, content: c.map(planned) });
        } else {
            // The seed article's composite input: media first, then the text, as a user would attach them.
            const parts: PlannedPart[] = [];
            if (c.image) parts.push({ type: "image", url: c.image });
            if (c.audio) parts.push({ type: "audio", data: c.audio, format: "wav" });
            if (c.text) parts.push({ type: "text", text: c.text });
            out.push({ role, content: parts });
        }
    }
    const items = out.flatMap((m) =>
        typeof m.content === "string" ? [] : m.content.filter((p) => p.type !== "text").map((p) => ({ role: m.role, type: p.type })),
    );
    if (items.some((p) => p.role !== "user"))
        throw new ApiError(400, "images and audio are accepted in user messages only", "invalid_media_role");
    const images = items.filter((p) => p.type === "image").length,
        audios = items.length - images;
    // A kind this model cannot use, or too many: refused before any byte is read.
    if (images > 0 && !media.sees)
        throw new ApiError(
            400,
            "this model has no vision encoder: start the server with --mmproj (the model's vision encoder)",
            "vision_unsupported",
        );
    if (audios > 0 && !media.hears)
        throw new ApiError(
            400,
            "this model cannot hear audio: start the server with --asr-model and --asr-mmproj (a speech model), or an --mmproj with an audio encoder",
            "audio_unsupported",
        );
    try {
        media.admit({ images, audios });
    } catch (e) {
        throw e instanceof UserError ? new ApiError(400, e.message, "too_many_media") : e;
    }
    return { messages: out, images, audios };
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

/** A refusal of the media itself (its header, its data) names the kind; a server-side fault passes as it is. */
async function asMediaError<T>(kind: "image" | "audio" | "media", job: () => Promise<T>): Promise<T> {
    try {
        return await job();
    } catch (e) {
        if (!(e instanceof UserError) || e instanceof ResourceLoadError) throw e;
        throw new ApiError(400, e.message, kind === "media" ? "invalid_media" : `invalid_${kind}`);
    }
}

/** Reads the plan's media, checks all their headers together, then decodes them in order. */
/** onTranscript: each transcript the speech model made, in order (the server returns them to the client). */
export async function decodeMessages(
    plan: MessagePlan,
    sources: MediaSources,
    media: MediaPolicy,
    signal?: AbortSignal,
    onTranscript?: (text: string) => void,
): Promise<ChatMessage[]> {
    const pending = new Map<PlannedPart, PendingMedia>();
    let read = 0; // the size cap on URLs and files is per request, not per image
    for (const m of plan.messages) {
        if (typeof m.content === "string") continue;
        for (const p of m.content) {
            if (p.type === "image") {
                const bytes = await imageBytes(p.url, { ...sources, maxBytes: Math.max(0, sources.maxBytes - read) }, signal);
                read += bytes.length;
                pending.set(p, { kind: "image", bytes });
            } else if (p.type === "audio") pending.set(p, { kind: "audio", bytes: audioBytes(p.data, p.format) });
        }
    }
    await asMediaError("media", () => media.check([...pending.values()]));
    const out: ChatMessage[] = [];
    for (const m of plan.messages) {
        if (typeof m.content === "string") {
            out.push({ role: m.role, content: m.content });
            continue;
        }
        const parts: ContentPart[] = [];
        for (const p of m.content) {
            if (p.type === "text") parts.push(p);
            else if (p.type === "image") parts.push((await asMediaError("image", () => media.image(pending.get(p)!.bytes))).part);
            else {
                const audio = await asMediaError("audio", () => media.audio(pending.get(p)!.bytes, signal));
                if (audio.transcript !== undefined) onTranscript?.(audio.transcript);
                parts.push(audio.part);
            }
        }
        out.push({ role: m.role, content: merged(parts) });
    }
    return out;
}
