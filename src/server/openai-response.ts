// A turn's result and events as OpenAI's responses: chat.completion and its chunks (with llama-server's
// timings and autoglm's transcript extension), text_completion and its chunks; each of n choices by
// its index, tool calls as message.tool_calls (streamed as delta.tool_calls: the call's id, type and
// name, then its arguments), log-probabilities in OpenAI's shapes.

import { randomBytes } from "node:crypto";
import type { TokenLogprob, ToolCall, TurnAnswer, TurnChoice, TurnEvent, TurnResult } from "../engine/turn.js";

/** An answer's finish_reason: "tool_calls" when it called functions (and was not cut). */
export const finishReason = (r: TurnAnswer): "stop" | "length" | "tool_calls" =>
    r.finish === "length" ? "length" : r.toolCalls?.length ? "tool_calls" : "stop";

/** The result's answers, in index order. */
export const choicesOf = (r: TurnResult): TurnChoice[] => r.choices ?? [{ ...r, index: 0 }];

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

/** Chat's logprobs.content entries. */
export const chatLogprobs = (tokens: readonly TokenLogprob[]) =>
    tokens.map((t) => ({
        token: t.text,
        logprob: t.logprob,
        bytes: t.bytes,
        top_logprobs: t.top.map((a) => ({ token: a.text, logprob: a.logprob, bytes: a.bytes })),
    }));

/** The legacy completions' logprobs: parallel arrays, text_offset from the start of the answer. */
export function completionLogprobs(tokens: readonly TokenLogprob[]) {
    let offset = 0;
    const textOffset = tokens.map((t) => {
        const at = offset;
        offset += t.text.length;
        return at;
    });
    return {
        tokens: tokens.map((t) => t.text),
        token_logprobs: tokens.map((t) => t.logprob),
        top_logprobs: tokens.map((t) => Object.fromEntries(t.top.map((a) => [a.text, a.logprob]))),
        text_offset: textOffset,
    };
}

const toolCallJson = (c: ToolCall) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } });

/** One response's id, creation time and model, and its bodies and chunks. */
export class ChatCompletion {
    readonly id = `chatcmpl-${randomBytes(12).toString("hex")}`;
    readonly created = Math.floor(Date.now() / 1000);
    /** Log-probabilities waiting for their choice's next text chunk. */
    private readonly pending = new Map<number, TokenLogprob[]>();

    constructor(
        readonly model: string,
        private readonly withLogprobs = false,
    ) {}

    private head(object: string) {
        return { id: this.id, object, created: this.created, model: this.model };
    }

    chunk(delta: object, finish: string | null = null, index = 0, extra: object = {}) {
        return { ...this.head("chat.completion.chunk"), choices: [{ index, delta, finish_reason: finish, ...extra }] };
    }

    /** The first chunk of each of `n` choices: its role (LangChain JS picks its message class from it). */
    roleChunks(n: number) {
        return Array.from({ length: n }, (_, i) => this.chunk({ role: "assistant", content: "" }, null, i));
    }

    /** The chunks an answer's event becomes (none for events that are not part of the answer). */
    eventChunks(e: TurnEvent, returnReasoning: boolean): object[] {
        const index = ("choice" in e ? e.choice : undefined) ?? 0;
        switch (e.type) {
            case "text":
                return [this.chunk({ content: e.text }, null, index, this.takeLogprobs(index))];
            case "reasoning":
                return returnReasoning ? [this.chunk({ reasoning_content: e.text }, null, index)] : [];
            case "logprobs":
                this.pending.set(index, [...(this.pending.get(index) ?? []), ...e.tokens]);
                return [];
            case "tool_call": {
                const start = { index: e.index, id: e.call.id, type: "function", function: { name: e.call.name, arguments: "" } };
                return [
                    ...this.flushLogprobs(index),
                    this.chunk({ tool_calls: [start] }, null, index),
                    this.chunk({ tool_calls: [{ index: e.index, function: { arguments: e.call.arguments } }] }, null, index),
                ];
            }
            default:
                return [];
        }
    }

    private takeLogprobs(index: number): object {
        if (!this.withLogprobs) return {};
        const tokens = this.pending.get(index) ?? [];
        this.pending.delete(index);
        return { logprobs: { content: chatLogprobs(tokens), refusal: null } };
    }

    /** Log-probabilities no text chunk carried (text held back, or a call), in a chunk of their own. */
    private flushLogprobs(index: number): object[] {
        return this.pending.get(index)?.length ? [this.chunk({}, null, index, this.takeLogprobs(index))] : [];
    }

    /** An extension chunk with no choices (as the usage chunk): clients that know it show the transcript. */
    transcriptChunk(transcript: string) {
        return { ...this.head("chat.completion.chunk"), choices: [], transcript };
    }

    /** Each choice's closing chunk (its finish_reason); the last carries the timings. */
    finalChunks(r: TurnResult) {
        const choices = choicesOf(r);
        return choices.flatMap((c, i) => {
            const last = i === choices.length - 1;
            const chunk = this.chunk({}, finishReason(c), c.index);
            return [...this.flushLogprobs(c.index), last ? { ...chunk, timings: timings(r) } : chunk];
        });
    }

    usageChunk(r: TurnResult) {
        return { ...this.head("chat.completion.chunk"), choices: [], usage: usage(r) };
    }

    body(r: TurnResult, returnReasoning: boolean, transcripts: string[]) {
        const choices = choicesOf(r).map((c) => {
            const calls = c.toolCalls?.length ? c.toolCalls : undefined;
            const message: Record<string, unknown> = { role: "assistant", content: calls && !c.content ? null : c.content };
            if (returnReasoning && c.reasoning) message.reasoning_content = c.reasoning;
            if (calls) message.tool_calls = calls.map(toolCallJson);
            const logprobs = this.withLogprobs ? { content: chatLogprobs(c.logprobs ?? []), refusal: null } : null;
            return { index: c.index, message, logprobs, finish_reason: finishReason(c) };
        });
        return {
            ...this.head("chat.completion"),
            choices,
            usage: usage(r),
            timings: timings(r),
            ...(transcripts.length ? { transcripts } : {}),
        };
    }
}

export class TextCompletion {
    readonly id = `cmpl-${randomBytes(12).toString("hex")}`;
    readonly created = Math.floor(Date.now() / 1000);
    constructor(
        readonly model: string,
        private readonly withLogprobs = false,
    ) {}

    private head() {
        return { id: this.id, object: "text_completion", created: this.created, model: this.model };
    }

    chunk(text: string, finish: string | null = null, index = 0, logprobs: TokenLogprob[] | null = null) {
        return { ...this.head(), choices: [{ index, text, finish_reason: finish, logprobs: logprobs && completionLogprobs(logprobs) }] };
    }

    /** Streamed: text as it comes, log-probabilities in chunks of their own (empty text). */
    eventChunks(e: TurnEvent): object[] {
        const index = ("choice" in e ? e.choice : undefined) ?? 0;
        if (e.type === "text") return [this.chunk(e.text, null, index)];
        if (e.type === "logprobs" && this.withLogprobs) return [this.chunk("", null, index, e.tokens)];
        return [];
    }

    finalChunks(r: TurnResult) {
        return choicesOf(r).map((c) => this.chunk("", finishReason(c), c.index));
    }

    usageChunk(r: TurnResult) {
        return { ...this.head(), choices: [], usage: usage(r) };
    }

    body(r: TurnResult) {
        const choices = choicesOf(r).map(
            (c) => this.chunk(c.raw, finishReason(c), c.index, this.withLogprobs ? (c.logprobs ?? []) : null).choices[0]!,
        );
        return { ...this.head(), choices, usage: usage(r), timings: timings(r) };
    }
}
