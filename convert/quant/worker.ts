// Worker thread body: encodes row chunks posted by EncodePool.
import { parentPort } from "node:worker_threads";
import { countNonFinite, encodeRows, type SourceDtype } from "./codec.js";
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
        const nonFinite = countNonFinite(job.dtype, job.bytes);
        const out = encodeRows(job.dtype, job.type, job.rowLength, job.bytes);
        // Transfer the result's buffer back instead of copying it.
        const owned = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
        parentPort!.postMessage({ id: job.id, bytes: owned, nonFinite }, [owned.buffer as ArrayBuffer]);
    } catch (e) {
        parentPort!.postMessage({ id: job.id, error: String((e as Error)?.message ?? e) });
    }
});
