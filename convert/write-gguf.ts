// Writes one GGUF file from a plan: metadata plus tensors, each streamed from its source through
// the encode pool in row chunks, results written in order. Memory stays bounded by the number of
// chunks in flight, not by the model size.

import type { GgmlType } from "../src/core/gguf/constants.js";
import type { Metadata } from "../src/core/gguf/metadata.js";
import { GgufWriter, type TensorInfo } from "./gguf/writer.js";
import type { EncodePool } from "./quant/pool.js";
import { type Encoded, SOURCE_BYTES } from "./quant/codec.js";
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

/** Every tensor's row chunks in file order. */
function* chunksOf(tensors: TensorPlan[]): Generator<{ tensor: number; row: number; count: number; last: boolean }> {
    for (const [tensor, t] of tensors.entries()) {
        const src = t.source;
        const rowsPerChunk = Math.max(1, Math.floor(CHUNK_SOURCE_BYTES / (src.rowLength * SOURCE_BYTES[src.dtype])));
        for (let row = 0; row < src.rows; row += rowsPerChunk) {
            const count = Math.min(rowsPerChunk, src.rows - row);
            yield { tensor, row, count, last: row + count === src.rows };
        }
    }
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
    // Up to `window` chunks read ahead and encoding, across tensor boundaries (the workers never wait
    // for a tensor's last chunk to be written); results are written in order.
    const window = Math.max(2, pool.threads * 2);
    const inFlight: { tensor: number; last: boolean; encoded: Promise<Encoded> }[] = [];
    const nonFinite = new Map<number, number>();
    try {
        await writer.open();
        const chunks = chunksOf(plan.tensors);
        let next = chunks.next();
        while (!next.done || inFlight.length) {
            while (!next.done && inFlight.length < window) {
                const { tensor, row, count, last } = next.value;
                const { source, type } = plan.tensors[tensor];
                const bytes = await source.readRows(row, count);
                done += bytes.length; // before encode(): handing the buffer to a worker detaches it
                const encoded = pool.encode(source.dtype, type as GgmlType, source.rowLength, bytes);
                encoded.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
                inFlight.push({ tensor, last, encoded });
                next = chunks.next();
            }
            if (signal?.aborted) throw signal.reason ?? new Error("aborted");
            const chunk = inFlight.shift()!;
            const { bytes, nonFinite: bad } = await chunk.encoded;
            await writer.writeTensorData(bytes);
            progress.onBytes?.(done, total);
            if (bad) nonFinite.set(chunk.tensor, (nonFinite.get(chunk.tensor) ?? 0) + bad);
            if (chunk.last && nonFinite.has(chunk.tensor))
                progress.onNonFinite?.(plan.tensors[chunk.tensor].name, nonFinite.get(chunk.tensor)!);
        }
        await writer.finish();
        if (!progress.deferCommit) await writer.commit();
        return writer.totalBytes;
    } catch (e) {
        await writer.abort();
        throw e;
    }
}
