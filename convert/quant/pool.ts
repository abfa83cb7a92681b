// A fixed pool of worker threads that encode row chunks through ggml (codec.ts). Jobs are handed to
// the least busy worker; buffers move by transfer, not copy. With zero threads (or when running from
// TypeScript source, where no compiled worker exists) encoding happens on the calling thread. Its
// workers are leased from the process's thread budget (src/core/threads.ts) and given back on close().

import { existsSync } from "node:fs";
import { threadBudget, type ThreadLease } from "../../src/core/threads.js";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { GgmlType } from "../../src/core/gguf/constants.js";
import { type Encoded, encodeRows, type SourceDtype } from "./codec.js";
import { quantizerAddonPath } from "./ggml.js";

interface Pending {
    resolve: (e: Encoded) => void;
    reject: (e: Error) => void;
}

export class EncodePool {
    private workers: { worker: Worker; busy: number }[] = [];
    private pending = new Map<number, Pending>();
    private nextId = 0;
    private failure?: Error;
    private closing = false;

    private lease?: ThreadLease;

    /** `threads`: the most workers wanted (default: the whole budget); the budget may grant fewer. */
    constructor(threads = defaultThreads()) {
        quantizerAddonPath(); // a missing addon is one clear error here, not one per worker
        const url = new URL("./worker.js", import.meta.url);
        if (threads <= 0 || !existsSync(fileURLToPath(url))) return;
        this.lease = threadBudget.lease(threads);
        for (let i = 0; i < this.lease.threads; i++) {
            const worker = new Worker(url);
            const slot = { worker, busy: 0 };
            worker.on("message", (msg: { id: number; bytes?: Uint8Array; nonFinite?: number; error?: string }) => {
                slot.busy--;
                const p = this.pending.get(msg.id);
                if (!p) return; // already rejected when a worker failed
                this.pending.delete(msg.id);
                if (msg.error !== undefined) p.reject(new Error(msg.error));
                else p.resolve({ bytes: msg.bytes!, nonFinite: msg.nonFinite! });
            });
            // A worker that dies (out of memory, say) fails the whole job: every pending and later
            // encode rejects, instead of waiting forever on a worker that will never answer.
            const fail = (e: Error) => {
                this.failure ??= e;
                for (const p of this.pending.values()) p.reject(e);
                this.pending.clear();
            };
            worker.on("error", fail);
            worker.on("exit", (code) => {
                if (!this.closing) fail(new Error(`an encoder worker stopped (exit code ${code})`));
            });
            this.workers.push(slot);
        }
    }

    get threads(): number {
        return this.workers.length;
    }

    /** The rows in `bytes` as `type`, with the count of NaN/infinite values among them. */
    encode(dtype: SourceDtype, type: GgmlType, rowLength: number, bytes: Uint8Array): Promise<Encoded> {
        if (this.failure) return Promise.reject(this.failure);
        if (this.workers.length === 0) {
            try {
                return Promise.resolve(encodeRows(dtype, type, rowLength, bytes));
            } catch (e) {
                return Promise.reject(e);
            }
        }
        const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
        slot.busy++;
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
            slot.worker.postMessage({ id, dtype, type, rowLength, bytes: owned }, [owned.buffer as ArrayBuffer]);
        });
    }

    async close(): Promise<void> {
        this.closing = true;
        await Promise.all(this.workers.map((w) => w.worker.terminate()));
        this.workers = [];
        this.lease?.release();
        this.lease = undefined;
    }
}

/** The whole budget (one worker per core by default): the main thread only reads and writes, which is mostly waiting on I/O. */
export function defaultThreads(): number {
    return threadBudget.total;
}
