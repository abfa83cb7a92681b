// autoglm's benchmark: prompt processing and decode speed, time to first token (fresh and as a
// follow-up turn that reuses the KV cache), load time and peak memory. No printing here.

import type { ContextSettings } from "./context.js";
import { stat, type Stat } from "./stats.js";
import type { Runtime } from "./runtime.js";

export interface BenchOptions {
    promptTokens: number;
    genTokens: number;
    repetitions: number;
}

export interface BenchResult {
    settings: ContextSettings;
    loadMs: number;
    pp: Stat; // tokens/s
    tg: Stat; // tokens/s
    ttftMs: Stat; // 16-token prompt, empty cache
    followUpTtftMs: Stat; // 16 new tokens after a cached conversation of promptTokens
    peakRssBytes: number;
    /** GPU memory in use at the end of the run (model, KV cache, buffers); 0 on the CPU. */
    vramBytes: number;
}

/** Deterministic token ids spread over the vocabulary (content does not change speed). */
function tokens(n: number, vocab: number, salt: number): number[] {
    return Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 17) % vocab);
}

/** Context cells a benchmark needs: llama-bench's (prompt + generated tokens), plus room for the follow-up turn. */
export function benchContextSize(o: BenchOptions): number {
    return Math.max(o.promptTokens + o.genTokens, o.promptTokens + 17);
}

/** What the benchmark is doing now (the CLI shows it): a phase, in repetition `rep` of `of` (0: the warm-up). */
export type BenchPhase = (phase: string, rep: number, of: number) => void;

/** Measures through a one-slot runtime opened with benchContextSize cells. */
/** signal: Ctrl-C; an interrupted run throws the signal's reason (no result of half the repetitions). */
export async function runBenchmark(
    runtime: Runtime,
    o: BenchOptions,
    onPhase: BenchPhase = () => {},
    signal?: AbortSignal,
): Promise<BenchResult> {
    const loaded = runtime.loaded,
        vocab = loaded.vocabSize;
    const session = runtime.pool.slots[0]!.sequence;
    const pp: number[] = [],
        tg: number[] = [],
        ttft: number[] = [],
        follow: number[] = [];
    onPhase("warm-up", 0, o.repetitions);
    await session.prefill(tokens(Math.min(o.promptTokens, 64), vocab, 0), signal); // warm-up, as llama-bench does
    for (let r = 0; r < o.repetitions; r++) {
        onPhase(`prefill ${o.promptTokens} tokens`, r + 1, o.repetitions);
        const ms = await session.prefill(tokens(o.promptTokens, vocab, r + 1), signal);
        pp.push((o.promptTokens / ms) * 1000);

        session.reset();
        onPhase(`decode ${o.genTokens} tokens`, r + 1, o.repetitions);
        const g = await session.generate(tokens(1, vocab, r), { maxTokens: o.genTokens, ignoreEog: true, signal });
        signal?.throwIfAborted();
        tg.push(((g.tokens.length - 1) / g.decodeMs) * 1000);

        session.reset();
        onPhase("first token", r + 1, o.repetitions);
        const t = await session.generate(tokens(16, vocab, r + 100), { maxTokens: 1, ignoreEog: true, signal });
        signal?.throwIfAborted();
        ttft.push(t.ttftMs);

        // A long conversation already in the cache, then a follow-up turn of 16 tokens.
        onPhase("follow-up first token", r + 1, o.repetitions);
        const history = tokens(o.promptTokens, vocab, r + 200);
        await session.prefill(history, signal);
        const f = await session.generate([...history, ...tokens(16, vocab, r + 300)], { maxTokens: 1, ignoreEog: true, signal });
        signal?.throwIfAborted();
        if (f.reusedTokens !== history.length)
            throw new Error(`internal: follow-up reused ${f.reusedTokens} of ${history.length} cached tokens`);
        follow.push(f.ttftMs);
    }
    const vramBytes = loaded.llama.gpu ? (await loaded.llama.getVramState()).used : 0;
    return {
        settings: runtime.settings,
        loadMs: loaded.loadMs,
        vramBytes,
        pp: stat(pp),
        tg: stat(tg),
        ttftMs: stat(ttft),
        followUpTtftMs: stat(follow),
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
}
