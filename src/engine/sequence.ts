// The one record of what a sequence's KV cache holds: the items (text tokens, media chunks) in
// position order, and the text they were rendered from when that is known. A new prompt evaluates
// only what follows the longest common prefix with it; a slot pool picks the sequence whose record
// shares the most with a request. The record is updated only by the job that changed the cache.

import { InternalError, UserError } from "../core/errors.js";
import { ContextOverflowError, nativeError } from "./errors.js";
import type { GenerateResult, MediaChunk, NativeContext, NativeTokenProbs, PromptChunk, SamplingOptions } from "./native.js";

/** What a prompt holds, in order: text tokens, and media chunks (an image or audio clip each). */
export type PromptItem = number | MediaChunk;

/** What the cache remembers of a media chunk: enough to recognise it, and the cells and positions it takes. */
interface CachedMedia {
    id: string;
    positions: number;
    tokens: number;
}
type CachedItem = number | CachedMedia;

const positionsOf = (i: CachedItem) => (typeof i === "number" ? 1 : i.positions);
/** KV cells an item takes: one per text token, one per embedding of a media chunk. */
export const cellsOf = (i: CachedItem) => (typeof i === "number" ? 1 : i.tokens);
// Media match by content id (a hash of the pixels or samples), so a later turn reuses an image already evaluated.
const sameItem = (a: CachedItem, b: PromptItem) =>
    typeof a === "number" ? a === b : typeof b !== "number" && a.id !== "" && a.id === b.id && a.positions === b.positions;

/** libmtmd's chunks as prompt items (text runs spread into tokens). */
export function promptItems(chunks: PromptChunk[]): PromptItem[] {
    return chunks.flatMap((c): PromptItem[] => (c.type === "text" ? Array.from(c.tokens) : [c]));
}

export interface GenerateOptions {
    maxTokens: number;
    sampling?: SamplingOptions;
    /** Decode exactly maxTokens, ignoring end-of-generation (benchmarks). */
    ignoreEog?: boolean;
    /** Tokens that end the answer besides the model's end-of-generation ones. */
    stopTokens?: readonly number[];
    signal?: AbortSignal;
    /** Each kept token's log-probability and this many alternatives, passed to onToken. */
    logprobs?: number;
    onToken?: (token: number, probs?: NativeTokenProbs) => void;
    /** Called with the job's id once it is queued (tests read its live token count). */
    onSubmit?: (id: number) => void;
    /** Called before the prompt is evaluated: `cached` of its `total` KV cells are already in the cache. */
    onPrompt?: (cached: number, total: number) => void;
}

export interface GenerateStats extends GenerateResult {
    /** Prompt cells found already in the KV cache, and those evaluated now. */
    reusedTokens: number;
    evaluatedTokens: number;
    /** True when the answer was cut because the context is full. */
    contextFull: boolean;
}

export class Sequence {
    private cached: CachedItem[] = [];
    private cachedPositions = 0;
    /** The prompt text plus answer the record stands for, and its items (cached plus the last sampled token). */
    private text: string | undefined;
    private items: PromptItem[] = [];
    /** The sequence whose cells this one's next job starts from (adopt). */
    private copyFrom?: number;

    constructor(
        private readonly ctx: NativeContext,
        readonly seq = 0,
        private readonly shared = false,
    ) {}

    /** KV cells one sequence holds. */
    get capacity(): number {
        return this.ctx.sequenceSize();
    }

    /** The cached text tokens; undefined when the cache holds media too. */
    get cachedTokens(): readonly number[] | undefined {
        return this.cached.every((i) => typeof i === "number") ? (this.cached as number[]) : undefined;
    }

    /** Characters of `text` the record's text starts with (the slot pool's measure). */
    sharedText(text: string): number {
        const held = this.text ?? "";
        const n = Math.min(held.length, text.length);
        let i = 0;
        while (i < n && held.charCodeAt(i) === text.charCodeAt(i)) i++;
        return i;
    }

    /**
     * The items `text` starts with, as far as the record knows them: when `text` extends the record's
     * text, its items are reused exactly and only the rest (`suffix`) needs tokenizing.
     */
    continuation(text: string): { items: PromptItem[]; suffix: string } {
        if (this.text !== undefined && this.text !== "" && text.startsWith(this.text))
            return { items: [...this.items], suffix: text.slice(this.text.length) };
        return { items: [], suffix: text };
    }

    /** The record as plain data, for a saved conversation; undefined when it holds media. */
    snapshot(): { text: string | undefined; items: number[] } | undefined {
        return this.items.every((i) => typeof i === "number") && this.cachedTokens
            ? { text: this.text, items: this.items as number[] }
            : undefined;
    }

    /** Takes back a snapshot's text and items after `load` restored the cache they describe. */
    restore(r: { text: string | undefined; items: number[] }): void {
        const cached = this.cachedTokens ?? [];
        // The items must start with what the cache holds, or the record would lie about it.
        if (r.items.length < cached.length || cached.some((t, i) => r.items[i] !== t)) return;
        this.text = typeof r.text === "string" ? r.text : undefined;
        this.items = [...r.items];
    }

    /** Records the text the last job's prompt and answer render to (undefined: unknown, e.g. cut by a stop string). */
    remember(text: string | undefined): void {
        this.text = text;
    }

    reset(): void {
        // The KV cache itself is trimmed by the next job on this sequence (from its start position).
        this.cached = [];
        this.cachedPositions = 0;
        this.text = undefined;
        this.items = [];
        this.copyFrom = undefined;
    }

    /**
     * Takes `source`'s record: this sequence's next job starts from a copy of `source`'s cells (another
     * answer to the prompt `source` just evaluated). `source`'s own jobs must not trim it below the
     * position this one starts from until that job is admitted (its next job of the same prompt does not).
     */
    adopt(source: Sequence): void {
        if (source.ctx !== this.ctx || source.seq === this.seq) throw new InternalError("a sequence adopts another of its own context");
        this.cached = [...source.cached];
        this.cachedPositions = source.cachedPositions;
        this.text = source.text;
        this.items = [...source.items];
        this.copyFrom = source.seq;
    }

    /** Evaluates `prompt` (reusing the cached prefix: tokens, and media with the same content id), then generates. */
    async generate(prompt: readonly PromptItem[], opts: GenerateOptions): Promise<GenerateStats> {
        if (prompt.length === 0) throw new InternalError("empty prompt");
        if (typeof prompt[prompt.length - 1] !== "number") throw new InternalError("a prompt must end with text");
        const cells = prompt.reduce<number>((n, i) => n + cellsOf(i), 0);
        const capacity = this.capacity;
        // The last prompt token's logits give one token without a cell of its own.
        if (cells > capacity) throw new ContextOverflowError(cells, capacity, this.shared);
        let common = 0,
            commonPos = 0,
            reused = 0;
        while (common < this.cached.length && common < prompt.length && sameItem(this.cached[common]!, prompt[common]!)) {
            commonPos += positionsOf(this.cached[common]!);
            reused += cellsOf(this.cached[common]!);
            common++;
        }
        // The last prompt token is always evaluated again: its logits start the generation.
        if (common === prompt.length) {
            common--;
            commonPos--;
            reused--;
        }
        const room = capacity - cells + 1;
        const maxTokens = Math.min(opts.maxTokens, room);
        if (opts.signal?.aborted) {
            if (this.copyFrom !== undefined) this.reset(); // the record was adopted but the cells never copied
            return {
                tokens: new Int32Array(0),
                reason: "aborted",
                promptMs: 0,
                decodeMs: 0,
                ttftMs: 0,
                encodeMs: 0,
                decodedTokens: 0,
                promptComplete: false,
                nextPos: commonPos,
                promptTokens: 0,
                promptSteps: 0,
                sharedSteps: 0,
                minThreads: 0,
                maxThreads: 0,
                encodeThreads: 0,
                reusedTokens: reused,
                evaluatedTokens: 0,
                contextFull: false,
            };
        }
        opts.onPrompt?.(reused, cells);
        const fresh = prompt.slice(common);
        const copyFrom = this.copyFrom;
        this.copyFrom = undefined;
        this.cached.length = common;
        this.cachedPositions = commonPos;
        this.text = undefined;
        this.items = [];
        const job = this.ctx.submit(
            {
                seq: this.seq,
                ...(copyFrom === undefined ? {} : { copyFrom }),
                startPos: commonPos,
                prompt: nativePieces(fresh),
                maxTokens,
                ignoreEog: opts.ignoreEog,
                stopTokens: opts.stopTokens ? Int32Array.from(opts.stopTokens) : undefined,
                sampling: opts.sampling,
                penaltyHistory: penaltyHistory(prompt, opts.sampling),
                ...(opts.logprobs === undefined ? {} : { logprobs: opts.logprobs }),
            },
            opts.onToken,
        );
        opts.onSubmit?.(job.id);
        const onAbort = () => this.ctx.cancel(job.id);
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        let r: GenerateResult;
        try {
            r = await job.done;
        } catch (e) {
            this.reset(); // the cache state is unknown after a failure: start clean next time
            throw nativeError(e);
        } finally {
            opts.signal?.removeEventListener("abort", onAbort);
        }
        if (!r.promptComplete)
            this.reset(); // a cancel during the prompt left part of it in the cache
        else {
            for (const i of fresh) this.cached.push(typeof i === "number" ? i : { id: i.id, positions: i.positions, tokens: i.tokens });
            this.cached.push(...r.tokens.subarray(0, r.decodedTokens));
            this.cachedPositions = r.nextPos;
            this.items = [...prompt.map(withoutData), ...r.tokens];
        }
        const contextFull = r.reason === "length" && maxTokens < opts.maxTokens;
        return { ...r, reusedTokens: reused, evaluatedTokens: r.promptComplete ? r.promptTokens : 0, contextFull };
    }

    /** Evaluates `tokens` into an empty cache without generating (prefill benchmarks, warm-up); the prompt's milliseconds. */
    async prefill(tokens: readonly number[], signal?: AbortSignal): Promise<number> {
        this.reset();
        const r = await this.generate(tokens, { maxTokens: 0, signal });
        signal?.throwIfAborted();
        if (!r.promptComplete) throw new InternalError("the evaluation was aborted");
        return r.promptMs;
    }

    save(path: string): number {
        const tokens = this.cachedTokens;
        if (!tokens)
            throw new UserError("a conversation with images or audio cannot be saved yet (llama.cpp session files hold text tokens only)");
        try {
            return this.ctx.saveSequence(this.seq, path, Int32Array.from(tokens), this.cachedPositions);
        } catch (e) {
            throw new UserError((e as Error).message);
        }
    }

    load(path: string): void {
        this.reset(); // llama.cpp clears the sequence before it reads
        try {
            this.cached = Array.from(this.ctx.loadSequence(this.seq, path, this.ctx.contextSize()));
            this.cachedPositions = this.cached.length;
            this.items = [...(this.cached as number[])];
        } catch (e) {
            this.reset();
            throw new UserError((e as Error).message);
        }
    }
}

/** What a prompt item leaves in memory once evaluated: media keep their id and size, not their pixels. */
const withoutData = (i: PromptItem): PromptItem => (typeof i === "number" ? i : { ...i, chunk: undefined });

/** Runs of text tokens become Int32Arrays; media chunks pass their native handle. */
function nativePieces(items: readonly PromptItem[]): Array<Int32Array | unknown> {
    const out: Array<Int32Array | unknown> = [];
    let run: number[] = [];
    for (const i of items) {
        if (typeof i === "number") {
            run.push(i);
            continue;
        }
        if (run.length) {
            out.push(Int32Array.from(run));
            run = [];
        }
        if (i.chunk === undefined)
            throw new InternalError(`the ${i.type} ${i.id} is no longer in the KV cache and has no data to evaluate again`);
        out.push(i.chunk);
    }
    if (run.length) out.push(Int32Array.from(run));
    return out;
}

/**
 * The prompt's text tokens (media left out, as llama-server skips them), when a repeat penalty is
 * on: llama.cpp's completion and server accept every prompt token into the sampler before the first
 * sample, so the penalty already covers the prompt's last penaltyLastN tokens.
 */
function penaltyHistory(prompt: readonly PromptItem[], s: SamplingOptions | undefined): Int32Array | undefined {
    const on = s && ((s.repeatPenalty ?? 1) !== 1 || (s.frequencyPenalty ?? 0) !== 0 || (s.presencePenalty ?? 0) !== 0);
    if (!on) return undefined;
    const text = prompt.filter((i): i is number => typeof i === "number");
    const n = s.penaltyLastN ?? 64;
    return Int32Array.from(n >= 0 ? text.slice(Math.max(0, text.length - n)) : text);
}
