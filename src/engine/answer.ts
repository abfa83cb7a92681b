// The one place a prompt becomes an answer: the sequence evaluates and generates, and the tokens
// stream through the detokenizer, the stop-string filter, the <think> splitter and, when the turn has
// tools, the tool-call parser, as text, reasoning and tool_call events; each token's log-probability
// is released once its text has passed the stop-string filter. The result is the answer's, in the
// contract's terms (src/engine/turn.ts).

import type { LlamaModel, Token } from "node-llama-cpp";
import { StreamingDetokenizer } from "./detokenizer.js";
import type { NativeTokenProbs, SamplingOptions } from "./native.js";
import type { GenerateStats, PromptItem, Sequence } from "./sequence.js";
import { StopStringFilter } from "./stop-strings.js";
import { ThinkingSplitter, type Piece } from "./thinking.js";
import type { ToolCallParser } from "./tools/call-parser.js";
import type { FinishReason, MediaReport, TokenLogprob, ToolCall, TurnEvent, TurnResult } from "./turn.js";

/** No cap beyond the context's room. */
export const UNLIMITED_TOKENS = 2 ** 31 - 1;

export interface AnswerOptions {
    sampling: SamplingOptions;
    maxTokens?: number;
    stop?: readonly string[];
    ignoreEos?: boolean;
    /** Tokens that end the answer besides the model's end-of-generation ones. */
    stopTokens: readonly number[];
    /** Split <think>...</think> into reasoning (a chat turn); false: the raw text as text (completions, reasoning_format none). */
    split: boolean;
    signal?: AbortSignal;
    emit: (e: TurnEvent) => void;
    /** Called with the native job's id once it is queued (tests read its live token count). */
    onSubmit?: (jobId: number) => void;
    /** Reads tool calls out of the answer's content (a turn with tools). */
    tools?: () => ToolCallParser;
    /** Each token's log-probability and this many alternatives. */
    logprobs?: number;
    /** The choice this answer is (n > 1): its events carry the index. */
    choice?: number;
    /** Say nothing of the prompt (another choice of a prompt already evaluated). */
    quietPrompt?: boolean;
}

export interface Answer {
    result: TurnResult;
    /** The generated text as the cache holds it: not when a stop string cut it (tokens past the text stay cached). */
    cachedText?: string;
    stats: GenerateStats;
}

const finishOf = (s: GenerateStats): FinishReason => (s.reason === "length" ? "length" : s.reason === "aborted" ? "aborted" : "stop");

const logprobOf = (token: number, p: NativeTokenProbs): TokenLogprob => ({
    token,
    text: Buffer.from(p.piece).toString("utf8"),
    bytes: Array.from(p.piece),
    logprob: p.logprob,
    top: p.top.map((t) => ({
        token: t.token,
        text: Buffer.from(t.piece).toString("utf8"),
        bytes: Array.from(t.piece),
        logprob: t.logprob,
    })),
});

/**
 * Each token's log-probability, released once its text has been shown: a token's text ends where the
 * detokenizer's output stood once the token's characters were complete.
 */
class LogprobLedger {
    private readonly entries: { probs: TokenLogprob; start: number; end: number }[] = [];
    private waiting: number[] = [];
    private produced = 0;
    private released = 0;

    add(token: number, probs: NativeTokenProbs | undefined): void {
        if (!probs) return;
        this.waiting.push(this.entries.length);
        this.entries.push({ probs: logprobOf(token, probs), start: this.produced, end: -1 });
    }

    /** The detokenizer gave `length` more characters: the waiting tokens' text is complete. */
    produce(length: number): void {
        for (const i of this.waiting) this.entries[i]!.end = this.produced + length;
        this.waiting = [];
        this.produced += length;
    }

    /** The tokens whose text lies within the first `shown` characters, not released before. */
    release(shown: number, atEnd = false): TokenLogprob[] {
        const out: TokenLogprob[] = [];
        for (; this.released < this.entries.length; this.released++) {
            const e = this.entries[this.released]!;
            // At the end, a token counts when any of its text was shown (a stop string may start inside it).
            const inside = e.end >= 0 && e.end <= shown;
            if (!inside && !(atEnd && (e.start < shown || (e.start === e.end && e.start <= shown)))) break;
            out.push(e.probs);
        }
        return out;
    }
}

export async function answer(
    model: LlamaModel,
    seq: Sequence,
    prompt: PromptItem[],
    o: AnswerOptions,
    media: MediaReport[],
): Promise<Answer> {
    const detok = new StreamingDetokenizer(model);
    const stops = new StopStringFilter(o.stop ?? []);
    const splitter = o.split ? new ThinkingSplitter() : undefined;
    const parser = o.tools?.();
    const tag = o.choice === undefined ? {} : { choice: o.choice };
    const ledger = o.logprobs === undefined ? undefined : new LogprobLedger();
    const logprobs: TokenLogprob[] = [];
    const pieces: Piece[] = [];
    const calls: ToolCall[] = [];
    let shown = "";
    const say = (p: Piece) => {
        if (!p.text) return;
        pieces.push(p);
        o.emit({ type: p.kind === "reasoning" ? "reasoning" : "text", text: p.text, ...tag });
    };
    const call = (cs: ToolCall[]) => {
        for (const c of cs) {
            calls.push(c);
            o.emit({ type: "tool_call", index: calls.length - 1, call: c, ...tag });
        }
    };
    const emit = (ps: Piece[]) => {
        for (const p of ps) {
            if (p.kind === "reasoning" || !parser) say(p);
            else {
                const r = parser.push(p.text);
                say({ kind: "content", text: r.text });
                call(r.calls);
            }
        }
    };
    const releaseLogprobs = (atEnd = false) => {
        const out = ledger?.release(shown.length, atEnd) ?? [];
        if (out.length === 0) return;
        logprobs.push(...out);
        o.emit({ type: "logprobs", tokens: out, ...tag });
    };
    const take = (text: string) => {
        shown += text;
        releaseLogprobs(); // before the text: a front end attaches them to the text that follows
        emit(splitter ? splitter.push(text) : text ? [{ kind: "content", text }] : []);
    };
    // A stop string cancels the job; the caller's signal does too.
    const stopper = new AbortController();
    const onAbort = () => stopper.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) stopper.abort();
    let stats: GenerateStats;
    try {
        stats = await seq.generate(prompt, {
            maxTokens: o.maxTokens ?? UNLIMITED_TOKENS,
            sampling: o.sampling,
            ignoreEog: o.ignoreEos,
            stopTokens: o.stopTokens,
            logprobs: o.logprobs,
            signal: stopper.signal,
            onSubmit: o.onSubmit,
            onPrompt: o.quietPrompt ? undefined : (cached, total) => o.emit({ type: "prompt", cached, total }),
            onToken: (t, probs) => {
                ledger?.add(t, probs);
                const text = detok.push(t);
                ledger?.produce(text.length);
                take(stops.push(text));
                if (stops.stopped) stopper.abort();
            },
        });
    } finally {
        o.signal?.removeEventListener("abort", onAbort);
    }
    const rest = detok.flush();
    ledger?.produce(rest.length);
    take(stops.push(rest));
    take(stops.flush());
    releaseLogprobs(true);
    if (splitter) emit(splitter.flush());
    if (parser) {
        const r = parser.end();
        say({ kind: "content", text: r.text });
        call(r.calls);
    }
    if (stops.stopped) stats = { ...stats, reason: "stop" };
    const raw = stops.stopped ? shown : model.detokenize(Array.from(stats.tokens) as Token[]);
    const join = (kind: Piece["kind"]) =>
        pieces
            .filter((p) => p.kind === kind)
            .map((p) => p.text)
            .join("");
    const result: TurnResult = {
        content: join("content").trim(),
        reasoning: join("reasoning").trim(),
        raw,
        finish: finishOf(stats),
        ...(calls.length ? { toolCalls: calls } : {}),
        ...(ledger ? { logprobs } : {}),
        contextFull: stats.contextFull,
        usage: {
            promptTokens: stats.reusedTokens + stats.evaluatedTokens,
            cachedTokens: stats.reusedTokens,
            completionTokens: stats.tokens.length,
        },
        timings: { firstTokenMs: stats.ttftMs, promptMs: stats.promptMs, encodeMs: stats.encodeMs, decodeMs: stats.decodeMs },
        media,
        tokens: Array.from(stats.tokens),
    };
    // The record stands for a text only when the cache holds that prompt and answer: not after a stop
    // string (tokens past the text kept) nor a cancel before the prompt was in.
    return { result, stats, cachedText: stops.stopped || !stats.promptComplete ? undefined : raw };
}
