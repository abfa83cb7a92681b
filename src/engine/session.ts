// A session owns one sequence of a context and remembers what that sequence's KV cache holds.
// A new request evaluates only what follows the longest common prefix with it.

import { UserError } from "../core/errors.js";
import type { GenerateResult, MediaChunk, NativeContext, PromptChunk, SamplingOptions } from "./native.js";

/** What a prompt holds, in order: text tokens, and media chunks (an image or audio clip each). */
export type PromptItem = number | MediaChunk;

/** What the cache remembers of a media chunk: enough to recognise it, and the positions it spans. */
interface CachedMedia { id: string; positions: number; tokens: number }
type CachedItem = number | CachedMedia;

const width = (i: CachedItem) => (typeof i === "number" ? 1 : i.positions);
// Media match by content id (a hash of the pixels or samples), so a later turn reuses an image already evaluated.
const sameItem = (a: CachedItem, b: PromptItem) => (typeof a === "number" ? a === b : typeof b !== "number" && a.id !== "" && a.id === b.id && a.positions === b.positions);

/** libmtmd's chunks as prompt items (text runs spread into tokens). */
export function promptItems(chunks: PromptChunk[]): PromptItem[] {
    return chunks.flatMap((c): PromptItem[] => (c.type === "text" ? Array.from(c.tokens) : [c]));
}

/** The prompt does not fit the context: the caller's mistake (HTTP 400), not a failure. */
export class ContextOverflowError extends UserError {}

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
    /** What the sequence's KV cache holds, in position order. */
    private cached: CachedItem[] = [];

    /**
     * batched: the sequence is one of several whose jobs the context batches together (the server's
     * slots); its cache is trimmed on the context's thread when a job starts, never from here.
     */
    constructor(private readonly ctx: NativeContext, readonly seq = 0, private readonly batched = false) {}

    /** The cached text tokens; undefined when the cache holds media too. */
    get cachedTokens(): readonly number[] | undefined {
        return this.cached.every((i) => typeof i === "number") ? (this.cached as number[]) : undefined;
    }

    reset(): void {
        // A batched sequence is trimmed by its next job (startPos 0 then).
        if (!this.batched) this.ctx.removeTokens(this.seq, 0);
        this.cached = [];
    }

    /** Evaluates `prompt` (reusing the cached prefix: tokens, and media with the same content id), then generates. */
    async generate(prompt: readonly PromptItem[], opts: GenerateOptions): Promise<GenerateStats> {
        if (prompt.length === 0) throw new Error("empty prompt");
        if (typeof prompt[prompt.length - 1] !== "number") throw new Error("a prompt must end with text");
        let common = 0, commonPos = 0;
        while (common < this.cached.length && common < prompt.length && sameItem(this.cached[common]!, prompt[common]!)) {
            commonPos += width(this.cached[common]!);
            common++;
        }
        // The last prompt token is always evaluated again: its logits start the generation.
        if (common === prompt.length) { common--; commonPos--; }
        const reused = this.cached.slice(0, common).reduce<number>((n, i) => n + (typeof i === "number" ? 1 : i.tokens), 0);
        if (opts.signal?.aborted) {
            return { tokens: new Int32Array(0), reason: "aborted", promptMs: 0, decodeMs: 0, ttftMs: 0, decodedTokens: 0, promptComplete: false, nextPos: commonPos, promptTokens: 0, reusedTokens: reused, evaluatedTokens: 0 };
        }
        const fresh = prompt.slice(common);
        const positions = commonPos + fresh.reduce<number>((n, i) => n + (typeof i === "number" ? 1 : i.positions), 0);
        const room = this.ctx.sequenceSize() - positions;
        if (room <= 0) throw new ContextOverflowError(`the prompt needs ${positions} positions; the context holds ${this.ctx.sequenceSize()}${this.batched ? " per slot" : ""}`);
        if (!this.batched) this.ctx.removeTokens(this.seq, commonPos); // also clears what another user of the sequence left
        this.cached.length = common;
        const req = {
            seq: this.seq, startPos: commonPos, prompt: nativePieces(fresh), maxTokens: Math.min(opts.maxTokens, room), ignoreEog: opts.ignoreEog,
            stopTokens: opts.stopTokens ? Int32Array.from(opts.stopTokens) : undefined, sampling: opts.sampling,
        };
        let onAbort = () => this.ctx.abort();
        let r: GenerateResult;
        try {
            let running: Promise<GenerateResult>;
            if (this.batched) {
                const job = this.ctx.submit(req, opts.onToken);
                onAbort = () => this.ctx.cancel(job.id);
                running = job.done;
            } else {
                running = this.ctx.generate(req, opts.onToken);
            }
            // Listen only once the job has started: the native side clears any earlier abort request.
            opts.signal?.addEventListener("abort", onAbort, { once: true });
            if (opts.signal?.aborted) onAbort();
            r = await running;
        } catch (e) {
            this.reset(); // the cache state is unknown after a failure: start clean next time
            throw new UserError((e as Error).message ?? String(e));
        } finally {
            opts.signal?.removeEventListener("abort", onAbort);
        }
        if (!r.promptComplete) this.reset(); // an abort during the prompt left part of it in the cache
        else {
            for (const i of fresh) this.cached.push(typeof i === "number" ? i : { id: i.id, positions: i.positions, tokens: i.tokens });
            this.cached.push(...r.tokens.subarray(0, r.decodedTokens));
        }
        return { ...r, reusedTokens: reused, evaluatedTokens: r.promptComplete ? r.promptTokens : 0 };
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
        const tokens = this.cachedTokens;
        if (!tokens) throw new UserError("a conversation with images or audio cannot be saved yet (llama.cpp session files hold text tokens only)");
        try {
            return this.ctx.saveSequence(this.seq, path, Int32Array.from(tokens));
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

/** Runs of text tokens become Int32Arrays; media chunks pass their native handle. */
function nativePieces(items: readonly PromptItem[]): Array<Int32Array | unknown> {
    const out: Array<Int32Array | unknown> = [];
    let run: number[] = [];
    for (const i of items) {
        if (typeof i === "number") { run.push(i); continue; }
        if (run.length) { out.push(Int32Array.from(run)); run = []; }
        if (i.chunk === undefined) throw new UserError(`the ${i.type} ${i.id} is no longer in the KV cache and has no data to evaluate again`);
        out.push(i.chunk);
    }
    if (run.length) out.push(Int32Array.from(run));
    return out;
}
