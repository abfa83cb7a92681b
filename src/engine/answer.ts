// The one place a prompt becomes an answer: the sequence evaluates and generates, and the tokens
// stream through the detokenizer, the stop-string filter and the <think> splitter as text and
// reasoning events; the result is the turn's, in the contract's terms (src/engine/turn.ts).

import type { LlamaModel, Token } from "node-llama-cpp";
import { StreamingDetokenizer } from "./detokenizer.js";
import type { SamplingOptions } from "./native.js";
import type { GenerateStats, PromptItem, Sequence } from "./sequence.js";
import { StopStringFilter } from "./stop-strings.js";
import { ThinkingSplitter, type Piece } from "./thinking.js";
import type { FinishReason, MediaReport, TurnEvent, TurnResult } from "./turn.js";

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
}

export interface Answer {
    result: TurnResult;
    /** The generated text as the cache holds it: not when a stop string cut it (tokens past the text stay cached). */
    cachedText?: string;
    stats: GenerateStats;
}

const finishOf = (s: GenerateStats): FinishReason => (s.reason === "length" ? "length" : s.reason === "aborted" ? "aborted" : "stop");

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
    const pieces: Piece[] = [];
    let shown = "";
    const emit = (ps: Piece[]) => {
        for (const p of ps) {
            pieces.push(p);
            o.emit({ type: p.kind === "reasoning" ? "reasoning" : "text", text: p.text });
        }
    };
    const take = (text: string) => {
        shown += text;
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
            signal: stopper.signal,
            onSubmit: o.onSubmit,
            onPrompt: (cached, total) => o.emit({ type: "prompt", cached, total }),
            onToken: (t) => {
                take(stops.push(detok.push(t)));
                if (stops.stopped) stopper.abort();
            },
        });
    } finally {
        o.signal?.removeEventListener("abort", onAbort);
    }
    take(stops.push(detok.flush()));
    take(stops.flush());
    if (splitter) emit(splitter.flush());
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
