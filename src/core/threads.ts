// The one thread budget: how many threads compute. Contexts, encoders and the speech model all take
// their counts from here, so nothing picks its own and the cores are not oversubscribed.

import { availableParallelism } from "node:os";

export function coreCount(): number {
    return Math.max(1, availableParallelism());
}

export interface ThreadBudget {
    /** Threads for one decode step (token generation). */
    decode: number;
    /** Threads for prompt batches. */
    batch: number;
    /** Threads for the vision/audio encoder's forward pass. */
    encoder: number;
}

/**
 * One thread per core by default: with the decode loop native and a persistent ggml threadpool,
 * nothing else competes for the cores while a token is computed (docs/benchmarks.md). The encoder
 * runs beside the decode loop (a screenshot encodes while other streams decode), with the same count.
 */
export function threadBudget(threads?: number, batchThreads?: number): ThreadBudget {
    const decode = threads ?? coreCount();
    return { decode, batch: batchThreads || decode, encoder: decode };
}
