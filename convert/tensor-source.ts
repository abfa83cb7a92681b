// Where a GGUF tensor's values come from: a stored checkpoint tensor read row range by row range
// (the common, streaming case), or a small tensor computed whole (permuted, split, reshaped).

import type { SafetensorsCheckpoint } from "./safetensors.js";
import { CheckpointError, isSourceDtype } from "./safetensors.js";
import { SOURCE_BYTES, type SourceDtype } from "./quant/codec.js";

export interface TensorSource {
    dtype: SourceDtype;
    /** Elements per row (the contiguous dimension). */
    rowLength: number;
    rows: number;
    /** Raw little-endian bytes of rows [start, start + count). */
    readRows(start: number, count: number): Promise<Uint8Array>;
}

/** A checkpoint tensor as it is stored: rows = product of all but the last dimension, unless
 * `rowLength` reshapes it (same bytes, e.g. a [D] bias written as D rows of 1). */
export function storedTensor(ckpt: SafetensorsCheckpoint, name: string, rowLength?: number): TensorSource {
    const t = ckpt.get(name);
    if (!isSourceDtype(t.dtype)) throw new CheckpointError(`tensor ${name} has dtype ${t.dtype}; supported: BF16, F16, F32`);
    const dtype = t.dtype;
    const elements = t.shape.reduce((a, b) => a * b, 1);
    rowLength ??= t.shape.length ? t.shape[t.shape.length - 1] : 1;
    if (elements % rowLength !== 0) throw new Error(`internal: cannot view ${name} as rows of ${rowLength}`);
    const rows = elements / rowLength;
    const rowBytes = rowLength * SOURCE_BYTES[dtype];
    return {
        dtype,
        rowLength,
        rows,
        readRows: (start, count) => ckpt.read(name, start * rowBytes, count * rowBytes),
    };
}

/** A tensor computed in one piece on first read (for small tensors that need reordering). */
export function computedTensor(dtype: SourceDtype, rowLength: number, rows: number, compute: () => Promise<Uint8Array>): TensorSource {
    let data: Promise<Uint8Array> | undefined;
    const rowBytes = rowLength * SOURCE_BYTES[dtype];
    return {
        dtype,
        rowLength,
        rows,
        async readRows(start, count) {
            data ??= compute().then((d) => {
                if (d.length !== rows * rowBytes) throw new Error(`computed tensor has ${d.length} bytes, expected ${rows * rowBytes}`);
                return d;
            });
            const d = await data;
            if (start + count === rows) data = undefined; // last read: let it be collected
            return d.subarray(start * rowBytes, (start + count) * rowBytes);
        },
    };
}

/** Reorders the rows of a stored tensor (its first, outermost dimension): output row i is input
 * row perm[i]. A 1-D tensor (a bias) is reordered element by element. */
export function permutedRows(ckpt: SafetensorsCheckpoint, name: string, perm: (row: number) => number): TensorSource {
    const base = storedTensor(ckpt, name);
    const oneD = ckpt.get(name).shape.length === 1;
    const units = oneD ? base.rowLength : base.rows;
    const unitBytes = (oneD ? 1 : base.rowLength) * SOURCE_BYTES[base.dtype];
    return computedTensor(base.dtype, base.rowLength, base.rows, async () => {
        const src = await base.readRows(0, base.rows);
        const out = new Uint8Array(src.length);
        for (let i = 0; i < units; i++) out.set(src.subarray(perm(i) * unitBytes, perm(i) * unitBytes + unitBytes), i * unitBytes);
        return out;
    });
}

/** Selected elements of a stored tensor, gathered into a new tensor of `rows` x `rowLength`.
 * `pick(outIndex)` gives the source element index of each output element, in output order, by runs:
 * it returns [sourceStart, runLength] for the run starting at output element `outIndex`. */
export function gatheredTensor(
    ckpt: SafetensorsCheckpoint,
    name: string,
    rowLength: number,
    rows: number,
    run: (outIndex: number) => [number, number],
): TensorSource {
    const base = storedTensor(ckpt, name);
    const eb = SOURCE_BYTES[base.dtype];
    return computedTensor(base.dtype, rowLength, rows, async () => {
        const src = await base.readRows(0, base.rows);
        const out = new Uint8Array(rowLength * rows * eb);
        for (let o = 0; o < rowLength * rows; ) {
            const [start, len] = run(o);
            out.set(src.subarray(start * eb, (start + len) * eb), o * eb);
            o += len;
        }
        return out;
    });
}
