// Converts rows of a source dtype (as stored in safetensors or GGUF) into a GGUF tensor type.
// Pure functions over byte buffers, so the same code runs in the main thread and in workers.

import { GgmlType, rowBytes } from "../gguf/constants.js";
import { quantizeQ4_0, quantizeQ8_0 } from "./blocks.js";
import { F16_TABLE, bitsFp32ToBf16, bitsFp32ToFp16 } from "./float.js";

/** Element encodings a source buffer may have. */
export type SourceDtype = "F32" | "F16" | "BF16";

export const SOURCE_BYTES: Record<SourceDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Decodes a little-endian buffer of `dtype` elements to float32. */
export function decodeToF32(dtype: SourceDtype, bytes: Uint8Array): Float32Array {
    const n = bytes.byteLength / SOURCE_BYTES[dtype];
    if (dtype === "F32") {
        // Copy so the result is aligned and owned, whatever the input's offset.
        const out = new Float32Array(n);
        new Uint8Array(out.buffer).set(bytes);
        return out;
    }
    const out = new Float32Array(n);
    const src = new Uint16Array(n);
    new Uint8Array(src.buffer).set(bytes);
    if (dtype === "BF16") {
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) u[i] = src[i] << 16;
    } else {
        for (let i = 0; i < n; i++) out[i] = F16_TABLE[src[i]];
    }
    return out;
}

const SAME: Partial<Record<SourceDtype, GgmlType>> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

/** Encodes `bytes` (whole rows of `rowLength` elements of `dtype`) as `type`. */
export function encodeRows(dtype: SourceDtype, type: GgmlType, rowLength: number, bytes: Uint8Array): Uint8Array {
    if (SAME[dtype] === type) return bytes; // no conversion: bit-identical pass-through
    const f = decodeToF32(dtype, bytes);
    const rows = f.length / rowLength;
    if (!Number.isInteger(rows)) throw new Error(`buffer of ${f.length} values is not whole rows of ${rowLength}`);
    const out = new Uint8Array(rowBytes(type, rowLength) * rows);
    switch (type) {
        case GgmlType.F32:
            return new Uint8Array(f.buffer);
        case GgmlType.F16: {
            const u = new Uint32Array(f.buffer);
            const h = new Uint16Array(out.buffer);
            for (let i = 0; i < u.length; i++) h[i] = bitsFp32ToFp16(u[i]);
            return out;
        }
        case GgmlType.BF16: {
            const u = new Uint32Array(f.buffer);
            const h = new Uint16Array(out.buffer);
            for (let i = 0; i < u.length; i++) h[i] = bitsFp32ToBf16(u[i]);
            return out;
        }
        case GgmlType.Q8_0:
            quantizeQ8_0(f, out);
            return out;
        case GgmlType.Q4_0:
            quantizeQ4_0(f, out);
            return out;
    }
}
