// n answers to one prompt (OpenAI's `n`): the prompt is evaluated once, on the turn's slot; each
// other slot idle at that moment takes a copy of its cells (llama_memory_seq_cp, at the copy's first
// decode) and the choices run side by side in the one decode loop, lane j answering choices j,
// j + lanes, ... in turn, each later one re-using its lane's cache of the prompt. Each choice k samples
// with seed + k, so a request's choices differ and a seeded request repeats.

import type { LlamaModel } from "node-llama-cpp";
import { answer, type Answer, type AnswerOptions } from "./answer.js";
import type { PromptItem, Sequence } from "./sequence.js";
import type { MediaReport, TurnAnswer, TurnChoice, TurnResult } from "./turn.js";

export interface ChoiceLanes {
    /** Sequences idle now, to answer other choices on (none: every choice on the turn's own sequence). */
    take(count: number): Sequence[];
    give(lanes: Sequence[]): void;
}

/** The record a sequence stands for after an answer: the prompt's text and the answer as cached (unknown text: none). */
const remember = (seq: Sequence, text: string | undefined, a: Answer) =>
    seq.remember(text === undefined || a.cachedText === undefined ? undefined : text + a.cachedText);

const answerOf = (r: TurnResult): TurnAnswer => ({
    content: r.content,
    reasoning: r.reasoning,
    raw: r.raw,
    finish: r.finish,
    ...(r.toolCalls ? { toolCalls: r.toolCalls } : {}),
    ...(r.logprobs ? { logprobs: r.logprobs } : {}),
    ...(r.tokens ? { tokens: r.tokens } : {}),
});
const choiceOf = (r: TurnResult, index: number): TurnChoice => ({ index, ...answerOf(r) });

/**
 * Answers `prompt` (rendered from `text`, when known) on `seq` `n` times. With n = 1 it is the plain
 * answer; the result's own fields are choice 0's, usage counts every choice's tokens.
 */
export async function answerChoices(
    model: LlamaModel,
    seq: Sequence,
    prompt: PromptItem[],
    text: string | undefined,
    opts: AnswerOptions,
    media: MediaReport[],
    n: number,
    lanes: ChoiceLanes,
): Promise<TurnResult> {
    if (n <= 1) {
        const a = await answer(model, seq, prompt, opts, media);
        remember(seq, text, a);
        return a.result;
    }
    // The prompt once: what follows the slot's cache is evaluated, nothing is sampled.
    const evaluated = await seq.generate(prompt, {
        maxTokens: 0,
        signal: opts.signal,
        onPrompt: (cached, total) => opts.emit({ type: "prompt", cached, total }),
    });
    if (!evaluated.promptComplete) {
        seq.remember(undefined);
        const none = { content: "", reasoning: "", raw: "", finish: "aborted" as const };
        return {
            ...none,
            choices: Array.from({ length: n }, (_, index) => ({ index, ...none })),
            contextFull: false,
            usage: { promptTokens: evaluated.reusedTokens, cachedTokens: evaluated.reusedTokens, completionTokens: 0 },
            timings: { firstTokenMs: 0, promptMs: evaluated.promptMs, encodeMs: evaluated.encodeMs, decodeMs: 0 },
            media,
        };
    }
    seq.remember(text);
    const extra = lanes.take(n - 1);
    // One choice failing stops the others (their slots are given back only once their jobs are over).
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const seed = opts.sampling.seed ?? 0;
    const answers: Answer[] = [];
    try {
        for (const lane of extra) lane.adopt(seq);
        const all = [seq, ...extra];
        const settled = await Promise.allSettled(
            all.map(async (lane, j) => {
                for (let k = j; k < n; k += all.length) {
                    const choice = {
                        ...opts,
                        choice: k,
                        quietPrompt: true,
                        signal: stop.signal,
                        sampling: { ...opts.sampling, seed: (seed + k) >>> 0 },
                    };
                    const a = await answer(model, lane, prompt, choice, media).catch((e) => {
                        stop.abort();
                        throw e;
                    });
                    remember(lane, text, a);
                    answers[k] = a;
                }
            }),
        );
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
        if (failed) throw failed.reason;
    } finally {
        opts.signal?.removeEventListener("abort", onAbort);
        lanes.give(extra);
    }
    const results = answers.map((a) => a.result);
    const first = results[0]!;
    return {
        ...answerOf(first),
        choices: results.map(choiceOf),
        contextFull: results.some((r) => r.contextFull),
        usage: {
            promptTokens: evaluated.reusedTokens + evaluated.evaluatedTokens,
            cachedTokens: evaluated.reusedTokens,
            completionTokens: results.reduce((s, r) => s + r.usage.completionTokens, 0),
        },
        timings: {
            firstTokenMs: evaluated.promptMs + Math.min(...results.map((r) => r.timings.firstTokenMs)),
            promptMs: evaluated.promptMs,
            encodeMs: evaluated.encodeMs,
            decodeMs: Math.max(...results.map((r) => r.timings.decodeMs)),
        },
        media,
    };
}
