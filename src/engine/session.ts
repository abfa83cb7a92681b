// A session owns one sequence of a context and remembers what that sequence's KV cache holds.
// A new request evaluates only what follows the longest common prefix with it.

import { UserError } from "../../convert/errors.js";
import type { GenerateResult, MediaPrompt, NativeContext, SamplingOptions } from "./native.js";

export interface GenerateOptions {
    maxTokens: number;
    sampling?: SamplingOptions;
    /** Decode exactly maxTokens, ignoring end-of-generation (benchmarks). */
    ignoreEog?: boolean;
    /** Tokens that end the answer besides the model's end-of-generation ones. */
    stopTokens?: readonly number[];
    signal?: AbortSignal;
    onToken?: (token: number) => void;
}

export interface GenerateStats extends GenerateResult {
    /** Prompt tokens found already in the KV cache, and those evaluated now. */
    reusedTokens: number;
    evaluatedTokens: number;
}

export class Session {
    /** Tokens whose keys/values are in the KV cache, in position order. */
    private cached: number[] = [];

    constructor(private readonly ctx: NativeContext, readonly seq = 0) {}

    get cachedTokens(): readonly number[] { return this.cached; }

    reset(): void {
        this.ctx.removeTokens(this.seq, 0);
        this.cached = [];
    }

    /** Evaluates `prompt` (reusing the cached prefix), then generates. */
    async generate(prompt: readonly number[], opts: GenerateOptions): Promise<GenerateStats> {
        if (prompt.length === 0) throw new Error("empty prompt");
        let common = 0;
        while (common < this.cached.length && common < prompt.length && this.cached[common] === prompt[common]) common++;
        // The last prompt token is always evaluated again: its logits start the generation.
        if (common === prompt.length) common--;
        if (opts.signal?.aborted) {
            return { tokens: new Int32Array(0), reason: "aborted", promptMs: 0, decodeMs: 0, ttftMs: 0, decodedTokens: 0, promptComplete: false, nextPos: common, promptTokens: 0, reusedTokens: common, evaluatedTokens: 0 };
        }
        if (common < this.cached.length) this.ctx.removeTokens(this.seq, common);
        this.cached.length = common;
        const fresh = Int32Array.from(prompt.slice(common));
        const onAbort = () => this.ctx.abort();
        let r: GenerateResult;
        try {
            const running = this.ctx.generate({
                seq: this.seq, startPos: common, prompt: fresh, maxTokens: opts.maxTokens, ignoreEog: opts.ignoreEog,
                stopTokens: opts.stopTokens ? Int32Array.from(opts.stopTokens) : undefined, sampling: opts.sampling,
            }, opts.onToken);
            // Listen only once the job has started: the native side clears any earlier abort request.
            opts.signal?.addEventListener("abort", onAbort, { once: true });
            r = await running;
        } catch (e) {
            this.reset(); // the cache state is unknown after a failure: start clean next time
            throw new UserError((e as Error).message ?? String(e));
        } finally {
            opts.signal?.removeEventListener("abort", onAbort);
        }
        if (!r.promptComplete) this.reset(); // an abort during the prompt left part of it in the cache
        else this.cached.push(...fresh, ...Array.from(r.tokens.subarray(0, r.decodedTokens)));
        return { ...r, reusedTokens: common, evaluatedTokens: r.promptComplete ? fresh.length : 0 };
    }

    /**
     * A prompt with images or audio: libmtmd tokenizes `media.text` (one marker per item), encodes the
     * media and evaluates everything, then generation continues as usual. This first version starts
     * from an empty sequence and does not reuse it afterwards (media chunks are not yet tracked in
     * the cached-token list).
     */
    async generateWithMedia(media: MediaPrompt, opts: GenerateOptions): Promise<GenerateStats> {
        this.reset();
        const onAbort = () => this.ctx.abort();
        try {
            const running = this.ctx.generate({
                seq: this.seq, startPos: 0, prompt: new Int32Array(0), maxTokens: opts.maxTokens, ignoreEog: opts.ignoreEog,
                stopTokens: opts.stopTokens ? Int32Array.from(opts.stopTokens) : undefined, sampling: opts.sampling, media,
            }, opts.onToken);
            opts.signal?.addEventListener("abort", onAbort, { once: true });
            const r = await running;
            return { ...r, reusedTokens: 0, evaluatedTokens: r.promptTokens };
        } catch (e) {
            throw new UserError((e as Error).message ?? String(e));
        } finally {
            opts.signal?.removeEventListener("abort", onAbort);
            this.reset();
        }
    }

    /** Evaluates `tokens` into the cache without generating (prefill benchmarks, warm-up). */
    async prefill(tokens: readonly number[]): Promise<number> {
        this.reset();
        try {
            const r = await this.ctx.evaluate(this.seq, Int32Array.from(tokens), 0);
            if (!r.promptComplete) throw new Error("the evaluation was aborted");
            this.cached = [...tokens];
            return r.promptMs;
        } catch (e) {
            this.reset();
            throw new UserError((e as Error).message ?? String(e));
        }
    }

    save(path: string): number {
        try {
            return this.ctx.saveSequence(this.seq, path, Int32Array.from(this.cached));
        } catch (e) {
            throw new UserError((e as Error).message);
        }
    }

    load(path: string): void {
        try {
            this.cached = Array.from(this.ctx.loadSequence(this.seq, path, this.ctx.contextSize()));
        } catch (e) {
            this.cached = []; // llama.cpp cleared the sequence before it failed
            throw new UserError((e as Error).message);
        }
    }
}
