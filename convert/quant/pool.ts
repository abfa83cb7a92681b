// A fixed pool of worker threads that encode row chunks. Jobs are handed to the least busy
// worker; buffers move by transfer, not copy. With zero threads (or when running from TypeScript
// source, where no compiled worker exists) encoding happens on the calling thread.

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { GgmlType } from "../gguf/constants.js";
import { encodeRows, type SourceDtype } from "./codec.js";

interface Pending { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }

export class EncodePool {
    private workers: { worker: Worker; busy: number }[] = [];
    private pending = new Map<number, Pending>();
    private nextId = 0;

    constructor(threads = defaultThreads()) {
        const url = new URL("./worker.js", import.meta.url);
        if (threads <= 0 || !existsSync(fileURLToPath(url))) return;
        for (let i = 0; i < threads; i++) {
            const worker = new Worker(url);
            const slot = { worker, busy: 0 };
            worker.on("message", (msg: { id: number; bytes?: Uint8Array; error?: string }) => {
                slot.busy--;
                const p = this.pending.get(msg.id)!;
                this.pending.delete(msg.id);
                if (msg.error !== undefined) p.reject(new Error(msg.error));
                else p.resolve(msg.bytes!);
            });
            worker.on("error", (e) => {
                for (const p of this.pending.values()) p.reject(e);
                this.pending.clear();
            });
            this.workers.push(slot);
        }
    }

    get threads(): number { return this.workers.length; }

    encode(dtype: SourceDtype, type: GgmlType, rowLength: number, bytes: Uint8Array): Promise<Uint8Array> {
        if (this.workers.length === 0) {
            try { return Promise.resolve(encodeRows(dtype, type, rowLength, bytes)); } catch (e) { return Promise.reject(e); }
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
        await Promise.all(this.workers.map((w) => w.worker.terminate()));
        this.workers = [];
    }
}

/** One worker per core: the main thread only reads and writes, which is mostly waiting on I/O. */
export function defaultThreads(): number {
    return Math.max(1, availableParallelism());
}
