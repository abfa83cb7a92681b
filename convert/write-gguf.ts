// Writes one GGUF file from a plan: metadata plus tensors, each streamed from its source through
// the encode pool in row chunks, results written in order. Memory stays bounded by the number of
// chunks in flight, not by the model size.

import type { GgmlType } from "../src/core/gguf/constants.js";
import type { Metadata } from "../src/core/gguf/metadata.js";
import { GgufWriter, type TensorInfo } from "./gguf/writer.js";
import type { EncodePool } from "./quant/pool.js";
import { SOURCE_BYTES } from "./quant/codec.js";
import type { TensorSource } from "./tensor-source.js";

export interface TensorPlan extends TensorInfo {
    source: TensorSource;
}

export interface GgufPlan {
    path: string;
    metadata: Metadata;
    tensors: TensorPlan[];
}

export interface WriteProgress {
    /** Source bytes consumed so far, and the total for this file. */
    onBytes?: (done: number, total: number) => void;
    /** A tensor whose source holds NaN or infinite values (written as they are). */
    onNonFinite?: (tensor: string, count: number) => void;
    /** Leave the complete file as <path>.partial: the caller commits it with its other outputs (writer.commit()). */
    deferCommit?: boolean;
}

const CHUNK_SOURCE_BYTES = 8 << 20;

export function sourceBytesOf(plan: GgufPlan): number {
    return plan.tensors.reduce((n, t) => n + t.source.rows * t.source.rowLength * SOURCE_BYTES[t.source.dtype], 0);
}

/** Checks the plan and prepares its writer (header encoded once; `totalBytes` is the exact file size). */
export function prepareGguf(plan: GgufPlan): GgufWriter {
    for (const t of plan.tensors) {
        const elements = t.shape.reduce((a, b) => a * b, 1);
        if (elements !== t.source.rows * t.source.rowLength || t.shape[0] !== t.source.rowLength) {
            throw new Error(
                `internal: tensor ${t.name} shape [${t.shape}] does not match its source (${t.source.rows} x ${t.source.rowLength})`,
            );
        }
    }
    return new GgufWriter(plan.path, plan.metadata, plan.tensors); // throws if a row does not fit its type's blocks
}

export async function writeGguf(
    plan: GgufPlan,
    pool: EncodePool,
    progress: WriteProgress = {},
    signal?: AbortSignal,
    writer = prepareGguf(plan),
): Promise<number> {
    const total = sourceBytesOf(plan);
    let done = 0;
    const window = Math.max(2, pool.threads * 2);
    try {
        await writer.open();
        for (const t of plan.tensors) {
            const src = t.source;
            const srcRowBytes = src.rowLength * SOURCE_BYTES[src.dtype];
            const rowsPerChunk = Math.max(1, Math.floor(CHUNK_SOURCE_BYTES / srcRowBytes));
            const inFlight: Promise<Uint8Array>[] = [];
            for (let row = 0; row < src.rows || inFlight.length; ) {
                // Keep the pool busy: read ahead up to `window` chunks, then write the oldest.
                while (row < src.rows && inFlight.length < window) {
                    const count = Math.min(rowsPerChunk, src.rows - row);
                    const bytes = await src.readRows(row, count);
                    done += bytes.length; // before encode(): handing the buffer to a worker detaches it
                    const encoded = pool.encode(src.dtype, t.type as GgmlType, src.rowLength, bytes);
                    encoded.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
                    inFlight.push(encoded);
                    row += count;
                }
                if (signal?.aborted) throw signal.reason ?? new Error("aborted");
                await writer.writeTensorData(await inFlight.shift()!);
                progress.onBytes?.(done, total);
            }
            const nonFinite = pool.takeNonFinite();
            if (nonFinite) progress.onNonFinite?.(t.name, nonFinite);
        }
        await writer.finish();
        if (!progress.deferCommit) await writer.commit();
        return writer.totalBytes;
    } catch (e) {
        await writer.abort();
        throw e;
    }
}
