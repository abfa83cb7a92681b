// A runtime's slots: one sequence each, over one context. A request takes the idle slot whose
// record (Sequence) shares the longest prefix with its prompt text, so a client resending its history
// reuses that slot's KV cache; when all are busy it waits in a bounded queue.

import { CancelledError, QueueFullError } from "./errors.js";
import type { Sequence } from "./sequence.js";

export interface Slot {
    id: number;
    sequence: Sequence;
    busy: boolean;
    lastUsed?: number;
}

/**
 * A slot's cache is worth taking over when it holds at least this share of a request's prompt;
 * below it the least recently used idle slot serves, so one client's cached conversation is not
 * overwritten by another's unrelated prompt (llama-server's --slot-prompt-similarity, 0.1).
 */
const SIMILARITY = 0.1;

/** A place held in the pool (a slot or a queue position) by a request still preparing, e.g. decoding its media. */
export interface Place {
    release(): void;
}

export class SlotPool {
    private uses = 0;
    /** Places held by reserve() and not yet taken by acquire(). */
    private reserved = 0;
    private readonly waiting: {
        text: string;
        resolve: (s: Slot) => void;
        reject: (e: Error) => void;
        signal?: AbortSignal;
        onAbort: () => void;
    }[] = [];

    constructor(
        readonly slots: Slot[],
        private readonly maxQueue: number,
    ) {}

    get busy(): number {
        return this.slots.filter((s) => s.busy).length;
    }
    get queued(): number {
        return this.waiting.length;
    }
    /** Whether a request would be refused now (checked before any media is decoded). */
    get full(): boolean {
        return this.busy + this.waiting.length + this.reserved >= this.slots.length + this.maxQueue;
    }

    /**
     * Holds a place for a request before its expensive preparation (media decoding), so a request
     * that would be refused is refused before it, and no more requests prepare at once than the
     * slots and the queue can take. The place passes to acquire(); release() it on failure.
     */
    reserve(): Place {
        if (this.full)
            throw new QueueFullError(`all ${this.slots.length} slots are busy and ${this.maxQueue} requests are waiting; try again later`);
        this.reserved++;
        let held = true;
        return {
            release: () => {
                if (held) {
                    held = false;
                    this.reserved--;
                }
            },
        };
    }

    /**
     * An idle slot for a prompt that renders to `text`; waits (bounded) when none is idle, calling
     * `onWait` first. A reserved `place` is never refused.
     */
    acquire(text: string, signal?: AbortSignal, place?: Place, onWait?: () => void): Promise<Slot> {
        const placed = place !== undefined;
        place?.release();
        if (signal?.aborted) return Promise.reject(new CancelledError("the request was cancelled"));
        const idle = this.best(text);
        if (idle) {
            this.take(idle);
            return Promise.resolve(idle);
        }
        if (!placed && this.full)
            return Promise.reject(
                new QueueFullError(`all ${this.slots.length} slots are busy and ${this.maxQueue} requests are waiting; try again later`),
            );
        onWait?.();
        return new Promise((resolve, reject) => {
            const entry = {
                text,
                resolve,
                reject,
                signal,
                onAbort: () => {
                    const i = this.waiting.indexOf(entry);
                    if (i >= 0) this.waiting.splice(i, 1);
                    reject(new CancelledError("the request was cancelled while it waited for a slot"));
                },
            };
            signal?.addEventListener("abort", entry.onAbort, { once: true });
            this.waiting.push(entry);
        });
    }

    /**
     * Up to `count` slots that are idle now, least recently used first, without waiting (a request's
     * extra choices run on them); none while requests wait. Release each like an acquired slot.
     */
    takeIdle(count: number): Slot[] {
        if (this.waiting.length > 0) return [];
        const idle = this.slots.filter((s) => !s.busy).sort((a, b) => (a.lastUsed ?? 0) - (b.lastUsed ?? 0));
        const taken = idle.slice(0, Math.max(0, count));
        for (const s of taken) this.take(s);
        return taken;
    }

    release(slot: Slot): void {
        const next = this.waiting.shift();
        if (!next) {
            slot.busy = false;
            return;
        }
        next.signal?.removeEventListener("abort", next.onAbort);
        this.take(slot);
        next.resolve(slot); // stays busy, handed over
    }

    /** Fails every waiting request (shutdown). */
    drain(error: Error): void {
        for (const w of this.waiting.splice(0)) {
            w.signal?.removeEventListener("abort", w.onAbort);
            w.reject(error);
        }
    }

    private take(slot: Slot): void {
        slot.busy = true;
        slot.lastUsed = ++this.uses;
    }

    private best(text: string): Slot | undefined {
        let best: Slot | undefined,
            score = -1,
            lru: Slot | undefined;
        for (const s of this.slots) {
            if (s.busy) continue;
            const n = s.sequence.sharedText(text);
            if (n > score) {
                best = s;
                score = n;
            }
            if (!lru || (s.lastUsed ?? 0) < (lru.lastUsed ?? 0)) lru = s;
        }
        return best && score >= SIMILARITY * text.length ? best : lru;
    }
}
