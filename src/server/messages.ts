// OpenAI chat messages to the engine's: roles mapped to the GLM template's, parts kept in order, each
// image or audio part a MediaSource that reads its bytes only when the turn asks (once it holds its
// place in the queue: a refused request fetches and decodes nothing). The turn checks media kinds,
// counts and headers (src/engine/runtime.ts); here only the body's shape.

import { callId } from "../engine/tools/call-parser.js";
import type { MediaSource, Role, ToolCall, TurnMessage, TurnPart } from "../engine/turn.js";
import { ApiError } from "./errors.js";
import { audioBytes, imageBytes, type MediaSources } from "./media.js";
import type { ContentPartBody, MessageBody, ToolCallBody } from "./schemas.js";

const ROLES: Record<MessageBody["role"], Role> = {
    system: "system",
    developer: "system",
    user: "user",
    assistant: "assistant",
    tool: "observation",
    observation: "observation",
};

const image = (url: string, sources: MediaSources): TurnPart => ({
    type: "image",
    source: { load: (signal) => imageBytes(url, sources, signal) },
});
const audio = (data: string, format?: string): TurnPart => {
    const source: MediaSource = { load: async () => audioBytes(data, format) };
    return { type: "audio", source };
};

function part(p: ContentPartBody, sources: MediaSources): TurnPart {
    switch (p.type) {
        case "text":
            if (typeof p.text !== "string") throw new ApiError(400, "a text part needs a text field", "invalid_request");
            return { type: "text", text: p.text };
        case "image_url":
        case "image": {
            const url = typeof p.image_url === "string" ? p.image_url : p.image_url?.url;
            if (!url) throw new ApiError(400, "an image_url part needs image_url.url", "invalid_image");
            return image(url, sources);
        }
        default:
            if (!p.input_audio?.data) throw new ApiError(400, "an input_audio part needs input_audio.data", "invalid_audio");
            return audio(p.input_audio.data, p.input_audio.format ?? undefined);
    }
}

/** A call sent back in an assistant message (an id it lacks is made up: the template does not show ids). */
const toolCall = (c: ToolCallBody): ToolCall => ({ id: c.id ?? callId(), name: c.function.name, arguments: c.function.arguments ?? "{}" });

/** The messages as a turn takes them; a body the engine cannot read as messages is a 400 here. */
export function turnMessages(messages: MessageBody[], sources: MediaSources): TurnMessage[] {
    return messages.map((m): TurnMessage => {
        const msg = message(m, sources);
        if (m.role === "assistant" && m.tool_calls?.length) msg.toolCalls = m.tool_calls.map(toolCall);
        if (m.role === "tool" || m.role === "observation") {
            if (m.tool_call_id) msg.toolCallId = m.tool_call_id;
            if (m.name) msg.name = m.name;
        }
        return msg;
    });
}

/** One message's role and content. */
function message(m: MessageBody, sources: MediaSources): TurnMessage {
    const role = ROLES[m.role];
    const c = m.content;
    if (c === undefined || c === null) {
        // The OpenAI API lets only an assistant message (one that called a tool) go without content.
        if (m.role !== "assistant") throw new ApiError(400, `a ${m.role} message needs content`, "invalid_request");
        return { role, content: "" };
    }
    if (typeof c === "string") return { role, content: c };
    if (Array.isArray(c)) return { role, content: c.map((p) => part(p, sources)) };
    // The seed article's composite input: media first, then the text, as a user would attach them.
    const parts: TurnPart[] = [];
    if (c.image) parts.push(image(c.image, sources));
    if (c.audio) parts.push(audio(c.audio, "wav"));
    if (c.text) parts.push({ type: "text", text: c.text });
    return { role, content: parts };
}
