// The one thread budget of the process: how many threads compute at once, and who holds them. Every
// consumer asks it instead of counting cores: the decode loop of each context (the chat model's and the
// speech model's), the media encoders, and the converter's worker pool. A command's --threads sets
// the total (default: one per core).
//
// JS worker pools lease whole threads for as long as they live. The native threads (decode loops and
// encoder passes) share the rest at run time through the addon's side of the budget
// (native/src/thread-budget.h), which this object keeps informed: a decode loop asks before every
// step, an encoder before every forward pass, so a screenshot encoding beside running streams splits
// the cores with them instead of doubling the threads, and either gets every core when alone.

import { availableParallelism } from "node:os";

export function coreCount(): number {
    return Math.max(1, availableParallelism());
}

/** The most threads one context's work asks for: its token steps, its prompt batches and its encoder passes. */
export interface ContextThreads {
    decode: number;
    batch: number;
    encoder: number;
}

/** Threads a JS worker pool holds until it releases them. */
export interface ThreadLease {
    readonly threads: number;
    release(): void;
}

export class ThreadBudget {
    private totalThreads = coreCount();
    private readonly leases = new Set<{ threads: number }>();
    private readonly listeners = new Set<(nativeThreads: number) => void>();

    /** Threads the process computes with. */
    get total(): number {
        return this.totalThreads;
    }

    /** Sets the total (a command's --threads). */
    setTotal(threads: number): void {
        if (!Number.isInteger(threads) || threads <= 0) throw new RangeError(`a thread budget must be a positive integer, got ${threads}`);
        this.totalThreads = threads;
        this.changed();
    }

    /** What the native threads share: the total less what JS worker pools hold, at least one. */
    get native(): number {
        let leased = 0;
        for (const l of this.leases) leased += l.threads;
        return Math.max(1, this.totalThreads - leased);
    }

    /**
     * The most one context asks for: `threads` (its --threads; default the whole budget) for token
     * steps and encoder passes, `batchThreads` for prompt batches. The native side gives each step and
     * pass less while others work.
     */
    forContext(threads?: number, batchThreads?: number): ContextThreads {
        const decode = Math.min(threads ?? this.totalThreads, this.totalThreads);
        return { decode, batch: Math.min(batchThreads || decode, this.totalThreads), encoder: decode };
    }

    /**
     * Threads for a JS worker pool (the converter's), up to `wanted`: what is not leased already, at
     * least one. The native threads share what is left until the lease is released.
     */
    lease(wanted = this.totalThreads): ThreadLease {
        let leased = 0;
        for (const l of this.leases) leased += l.threads;
        const held = { threads: Math.max(1, Math.min(wanted, this.totalThreads - leased)) };
        this.leases.add(held);
        this.changed();
        return {
            threads: held.threads,
            release: () => {
                if (this.leases.delete(held)) this.changed();
            },
        };
    }

    /** Calls `fn` with the native share now and whenever it changes; returns the unsubscribe function. */
    onNativeChange(fn: (nativeThreads: number) => void): () => void {
        this.listeners.add(fn);
        fn(this.native);
        return () => this.listeners.delete(fn);
    }

    private changed(): void {
        const n = this.native;
        for (const fn of this.listeners) fn(n);
    }
}

/** The process's budget. */
export const threadBudget = new ThreadBudget();
