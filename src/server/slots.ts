// --parallel N slots over one context with N sequences. A request takes the idle slot whose last
// conversation shares the longest prefix with its prompt (so a client resending its history
// reuses that slot's KV cache); when all are busy it waits in a bounded queue.

import { ChatSession, type ChatOptions } from "../engine/chat.js";
import type { LoadedModel } from "../engine/model.js";
import type { NativeContext } from "../engine/native.js";
import { Session } from "../engine/session.js";
import { ApiError } from "./errors.js";

export interface Slot { id: number; chat: ChatSession; busy: boolean; lastText: string }

function sharedPrefix(a: string, b: string): number {
    const n = Math.min(a.length, b.length);
    let i = 0;
    while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
    return i;
}

export class SlotPool {
    readonly slots: Slot[];
    private readonly waiting: { text: string; resolve: (s: Slot) => void; reject: (e: Error) => void; signal?: AbortSignal; onAbort: () => void }[] = [];

    constructor(loaded: LoadedModel, ctx: NativeContext, count: number, opts: ChatOptions, private readonly maxQueue: number) {
        this.slots = Array.from({ length: count }, (_, id) => ({ id, chat: new ChatSession(loaded, new Session(ctx, id, true), opts), busy: false, lastText: "" }));
    }

    get busy(): number { return this.slots.filter((s) => s.busy).length; }
    get queued(): number { return this.waiting.length; }

    /** An idle slot for a prompt that renders to `text`; waits (bounded) when none is idle. */
    acquire(text: string, signal?: AbortSignal): Promise<Slot> {
        const idle = this.best(text);
        if (idle) { idle.busy = true; return Promise.resolve(idle); }
        if (this.waiting.length >= this.maxQueue) return Promise.reject(new ApiError(503, `all ${this.slots.length} slots are busy and ${this.maxQueue} requests are waiting; try again later`, "queue_full"));
        return new Promise((resolve, reject) => {
            const entry = {
                text, resolve, reject, signal,
                onAbort: () => {
                    const i = this.waiting.indexOf(entry);
                    if (i >= 0) this.waiting.splice(i, 1);
                    reject(new ApiError(499, "the client went away", "client_closed"));
                },
            };
            signal?.addEventListener("abort", entry.onAbort, { once: true });
            this.waiting.push(entry);
        });
    }

    release(slot: Slot, text: string): void {
        slot.lastText = text;
        const next = this.waiting.shift();
        if (!next) { slot.busy = false; return; }
        next.signal?.removeEventListener("abort", next.onAbort);
        next.resolve(slot); // stays busy, handed over
    }

    /** Fails every waiting request (shutdown). */
    drain(error: Error): void {
        for (const w of this.waiting.splice(0)) { w.signal?.removeEventListener("abort", w.onAbort); w.reject(error); }
    }

    private best(text: string): Slot | undefined {
        let best: Slot | undefined, score = -1;
        for (const s of this.slots) {
            if (s.busy) continue;
            const n = sharedPrefix(s.lastText, text);
            if (n > score) { best = s; score = n; }
        }
        return best;
    }
}
