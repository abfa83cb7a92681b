// A runtime's slots: one sequence each, over one context. A request takes the idle slot whose
// record (Sequence) shares the longest prefix with its prompt text, so a client resending its history
// reuses that slot's KV cache; when all are busy it waits in a bounded queue.
//
// Fairness (docs/server-contract.md, "Security"): each request belongs to a client (the server names
// it: an API key, else a remote address). A client may hold at most `perClient` places (running,
// waiting or preparing, and slots lent to its extra choices) at once, and a freed slot goes to the
// waiting client with the fewest running slots, then to the one served longest ago, so one client
// cannot take every slot and the queue. With `isolate`, a slot's cache serves only the client that
// filled it.

import { UserError } from "../core/errors.js";
import { CancelledError, ClientLimitError, QueueFullError } from "./errors.js";
import type { Sequence } from "./sequence.js";

export interface Slot {
    id: number;
    sequence: Sequence;
    busy: boolean;
    lastUsed?: number;
    /** The client running on it, or (idle) the one whose conversation its cache holds. */
    client?: string;
}

/**
 * A slot's cache is worth taking over when it holds at least this share of a request's prompt;
 * below it the least recently used idle slot serves, so one client's cached conversation is not
 * overwritten by another's unrelated prompt (llama-server's --slot-prompt-similarity, 0.1).
 */
const SIMILARITY = 0.1;

/** A place held in the pool (a slot or a queue position) by a request still preparing, e.g. decoding its media. */
export interface Place {
    /** Whose request it is. */
    readonly client: string;
    release(): void;
}

/** How the pool shares itself between clients (a server sets it; the CLI's one user needs none). */
export interface PoolPolicy {
    /** Places (running, waiting or preparing) one client may hold at once; undefined: no limit but the queue's. */
    perClient?: number;
    /** A slot's cached prompt serves only the client whose conversation it holds (cached_tokens reveals nothing across clients). */
    isolate?: boolean;
}

/** The client of callers that name none (the CLI, a session, the runtime's own one-shot turns). */
export const ANONYMOUS = "";

interface Waiting {
    text: string;
    client: string;
    resolve: (s: Slot) => void;
    reject: (e: Error) => void;
    signal?: AbortSignal;
    onAbort: () => void;
}

export class SlotPool {
    private uses = 0;
    /** Places held by reserve() and not yet taken by acquire(). */
    private reserved = 0;
    private readonly waiting: Waiting[] = [];
    /** Places each client holds: reserved, waiting, running, and slots lent to it by takeIdle. */
    private readonly held = new Map<string, number>();
    /** When each client last got a slot (this.uses then), for the round robin between waiting clients. */
    private readonly served = new Map<string, number>();
    private policy: PoolPolicy = {};

    constructor(
        readonly slots: Slot[],
        private readonly maxQueue: number,
    ) {}

    /** Sets how the pool is shared between clients (before it serves). */
    configure(policy: PoolPolicy): void {
        if (policy.perClient !== undefined && !(Number.isInteger(policy.perClient) && policy.perClient >= 1))
            throw new UserError(`a client must be allowed at least one request, got ${policy.perClient}`);
        this.policy = { ...policy };
    }

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
     * Holds a place for `client`'s request before its expensive preparation (media decoding), so a
     * request that would be refused is refused before it, and no more requests prepare at once than
     * the slots and the queue can take. The place passes to acquire(); release() it on failure.
     */
    reserve(client: string = ANONYMOUS): Place {
        this.admit(client);
        this.reserved++;
        this.hold(client);
        let held = true;
        return {
            client,
            release: () => {
                if (!held) return;
                held = false;
                this.reserved--;
                this.drop(client);
            },
        };
    }

    /**
     * An idle slot for a prompt that renders to `text`; waits (bounded) when none is idle, calling
     * `onWait` first. A reserved `place` is never refused (and names the client); without one the
     * request is the anonymous client's.
     */
    acquire(text: string, signal?: AbortSignal, place?: Place, onWait?: () => void): Promise<Slot> {
        const client = place?.client ?? ANONYMOUS;
        if (place) {
            place.release();
            this.hold(client); // the place's claim passes to this request
        } else {
            try {
                this.admit(client);
            } catch (e) {
                return Promise.reject(e);
            }
            this.hold(client);
        }
        if (signal?.aborted) {
            this.drop(client);
            return Promise.reject(new CancelledError("the request was cancelled"));
        }
        const idle = this.best(text, client);
        if (idle) {
            this.take(idle, client);
            return Promise.resolve(idle);
        }
        onWait?.();
        return new Promise((resolve, reject) => {
            const entry: Waiting = {
                text,
                client,
                resolve,
                reject,
                signal,
                onAbort: () => {
                    const i = this.waiting.indexOf(entry);
                    if (i >= 0) this.waiting.splice(i, 1);
                    this.drop(client);
                    reject(new CancelledError("the request was cancelled while it waited for a slot"));
                },
            };
            signal?.addEventListener("abort", entry.onAbort, { once: true });
            this.waiting.push(entry);
        });
    }

    /**
     * Up to `count` slots that are idle now, least recently used first, without waiting (a request of
     * `client`'s runs its extra choices on them); none while requests wait. Each lent slot is one more
     * place of the client's, so a client never holds more than its per-client share through them (its
     * other choices then run one after another on the slots it has), and with isolation a lent slot's
     * cache of another client is forgotten as any slot's is. Release each like an acquired slot.
     */
    takeIdle(count: number, client: string = ANONYMOUS): Slot[] {
        if (this.waiting.length > 0) return [];
        const limit = this.policy.perClient;
        const share = limit === undefined ? count : Math.min(count, limit - (this.held.get(client) ?? 0));
        const idle = this.slots.filter((s) => !s.busy).sort((a, b) => (a.lastUsed ?? 0) - (b.lastUsed ?? 0));
        const taken = idle.slice(0, Math.max(0, share));
        for (const s of taken) {
            this.hold(client);
            this.take(s, client);
        }
        return taken;
    }

    release(slot: Slot): void {
        this.drop(slot.client ?? ANONYMOUS);
        slot.busy = false; // before next(): the freed slot counts for nobody
        const next = this.next();
        if (!next) return;
        next.signal?.removeEventListener("abort", next.onAbort);
        this.take(slot, next.client);
        next.resolve(slot); // stays busy, handed over
    }

    /** Fails every waiting request (shutdown). */
    drain(error: Error): void {
        for (const w of this.waiting.splice(0)) {
            w.signal?.removeEventListener("abort", w.onAbort);
            this.drop(w.client);
            w.reject(error);
        }
    }

    /** Refuses a new request when the pool is full, or when its client holds its share already. */
    private admit(client: string): void {
        if (this.full)
            throw new QueueFullError(`all ${this.slots.length} slots are busy and ${this.maxQueue} requests are waiting; try again later`);
        const limit = this.policy.perClient;
        if (limit !== undefined && (this.held.get(client) ?? 0) >= limit)
            throw new ClientLimitError(
                `this client already has ${limit} requests running or waiting, as many as one client may; try again when one has finished`,
            );
    }

    private hold(client: string): void {
        this.held.set(client, (this.held.get(client) ?? 0) + 1);
    }

    private drop(client: string): void {
        const n = (this.held.get(client) ?? 0) - 1;
        if (n > 0) this.held.set(client, n);
        else this.held.delete(client);
    }

    /**
     * The waiting request a freed slot goes to: its client runs the fewest slots, then was served
     * longest ago, then it came first. One client's full queue does not starve another's request.
     */
    private next(): Waiting | undefined {
        if (this.waiting.length === 0) return undefined;
        const running = new Map<string, number>();
        for (const s of this.slots) if (s.busy && s.client !== undefined) running.set(s.client, (running.get(s.client) ?? 0) + 1);
        let best = 0;
        const key = (w: Waiting) => [running.get(w.client) ?? 0, this.served.get(w.client) ?? -1] as const;
        for (let i = 1; i < this.waiting.length; i++) {
            const [r, s] = key(this.waiting[i]!),
                [br, bs] = key(this.waiting[best]!);
            if (r < br || (r === br && s < bs)) best = i;
        }
        return this.waiting.splice(best, 1)[0];
    }

    private take(slot: Slot, client: string): void {
        // Another client's conversation is forgotten before this one runs: with isolation nothing of it is reused.
        if (this.policy.isolate && slot.client !== client) slot.sequence.reset();
        slot.busy = true;
        slot.client = client;
        slot.lastUsed = ++this.uses;
        this.served.set(client, this.uses);
        // Many clients come and go (addresses): forget those that hold nothing now, now and then.
        if (this.served.size > 4096) for (const c of this.served.keys()) if (!this.held.has(c)) this.served.delete(c);
    }

    private best(text: string, client: string): Slot | undefined {
        let best: Slot | undefined,
            score = -1,
            lru: Slot | undefined;
        for (const s of this.slots) {
            if (s.busy) continue;
            // With isolation, another client's cache is worth nothing to this one.
            const n = this.policy.isolate && s.client !== client ? 0 : s.sequence.sharedText(text);
            if (n > score) {
                best = s;
                score = n;
            }
            if (!lru || (s.lastUsed ?? 0) < (lru.lastUsed ?? 0)) lru = s;
        }
        return best && score >= SIMILARITY * text.length ? best : lru;
    }
}
