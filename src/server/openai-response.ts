// A turn's result and events as OpenAI's responses: chat.completion and its chunks (with
// llama-server's timings and autoglm's transcript extension), text_completion and its chunks.

import { randomBytes } from "node:crypto";
import type { TurnResult } from "../engine/turn.js";

export const finishReason = (r: TurnResult): "stop" | "length" => (r.finish === "length" ? "length" : "stop");

export function usage(r: TurnResult) {
    const u = r.usage;
    return {
        prompt_tokens: u.promptTokens,
        completion_tokens: u.completionTokens,
        total_tokens: u.promptTokens + u.completionTokens,
        prompt_tokens_details: { cached_tokens: u.cachedTokens },
    };
}

/** llama-server-style timings. */
export function timings(r: TurnResult) {
    const { usage: u, timings: t } = r;
    const evaluated = u.promptTokens - u.cachedTokens,
        decoded = Math.max(0, u.completionTokens - 1);
    return {
        cache_n: u.cachedTokens,
        prompt_n: evaluated,
        prompt_ms: t.promptMs,
        prompt_per_second: t.promptMs > 0 ? (evaluated * 1000) / t.promptMs : 0,
        predicted_n: u.completionTokens,
        predicted_ms: t.decodeMs,
        predicted_per_second: t.decodeMs > 0 ? (decoded * 1000) / t.decodeMs : 0,
    };
}

/** One response's id, creation time and model, and its bodies. */
export class ChatCompletion {
    readonly id = `chatcmpl-${randomBytes(12).toString("hex")}`;
    readonly created = Math.floor(Date.now() / 1000);
    constructor(readonly model: string) {}

    private head(object: string) {
        return { id: this.id, object, created: this.created, model: this.model };
    }

    chunk(delta: object, finish: string | null = null) {
        return { ...this.head("chat.completion.chunk"), choices: [{ index: 0, delta, finish_reason: finish }] };
    }

    /** An extension chunk with no choices (as the usage chunk): clients that know it show the transcript. */
    transcriptChunk(transcript: string) {
        return { ...this.head("chat.completion.chunk"), choices: [], transcript };
    }

    finalChunk(r: TurnResult) {
        return { ...this.chunk({}, finishReason(r)), timings: timings(r) };
    }

    usageChunk(r: TurnResult) {
        return { ...this.head("chat.completion.chunk"), choices: [], usage: usage(r) };
    }

    body(r: TurnResult, returnReasoning: boolean, transcripts: string[]) {
        const message: Record<string, string> = { role: "assistant", content: r.content };
        if (returnReasoning && r.reasoning) message.reasoning_content = r.reasoning;
        return {
            ...this.head("chat.completion"),
            choices: [{ index: 0, message, finish_reason: finishReason(r) }],
            usage: usage(r),
            timings: timings(r),
            ...(transcripts.length ? { transcripts } : {}),
        };
    }
}

export class TextCompletion {
    readonly id = `cmpl-${randomBytes(12).toString("hex")}`;
    readonly created = Math.floor(Date.now() / 1000);
    constructor(readonly model: string) {}

    chunk(text: string, finish: string | null = null) {
        return {
            id: this.id,
            object: "text_completion",
            created: this.created,
            model: this.model,
            choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
        };
    }

    usageChunk(r: TurnResult) {
        return { id: this.id, object: "text_completion", created: this.created, model: this.model, choices: [], usage: usage(r) };
    }

    body(r: TurnResult) {
        return { ...this.chunk(r.raw, finishReason(r)), usage: usage(r), timings: timings(r) };
    }
}
