// Worker thread body: encodes row chunks posted by EncodePool, through this thread's own instance of the addon.
import { parentPort } from "node:worker_threads";
import { encodeRows, type SourceDtype } from "./codec.js";
import type { GgmlType } from "../../src/core/gguf/constants.js";

export interface EncodeJob {
    id: number;
    dtype: SourceDtype;
    type: GgmlType;
    rowLength: number;
    bytes: Uint8Array;
}

parentPort!.on("message", (job: EncodeJob) => {
    try {
        const { bytes, nonFinite } = encodeRows(job.dtype, job.type, job.rowLength, job.bytes);
        // Transfer the result's buffer back instead of copying it (encodeRows allocates it whole).
        parentPort!.postMessage({ id: job.id, bytes, nonFinite }, [bytes.buffer as ArrayBuffer]);
    } catch (e) {
        parentPort!.postMessage({ id: job.id, error: String((e as Error)?.message ?? e) });
    }
});
