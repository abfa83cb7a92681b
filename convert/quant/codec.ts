// Converts rows of a source dtype (as stored in safetensors or GGUF) into a GGUF tensor type.
// Pure functions over byte buffers, so the same code runs in the main thread and in workers.

import { GgmlType, TYPE_LAYOUT, rowBytes } from "../../src/core/gguf/constants.js";
import { quantizeQ4_0, quantizeQ5_0, quantizeQ5_1, quantizeQ8_0 } from "./blocks.js";
import { quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from "./kblocks.js";
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

/** Elements of a source buffer that are NaN or infinite (all exponent bits set), counted from the bits. */
export function countNonFinite(dtype: SourceDtype, bytes: Uint8Array): number {
    let bad = 0;
    if (dtype === "F32") {
        const n = bytes.byteLength >>> 2;
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < n; i++) if ((dv.getUint32(i * 4, true) & 0x7f800000) === 0x7f800000) bad++;
        return bad;
    }
    const mask = dtype === "BF16" ? 0x7f80 : 0x7c00;
    for (let i = 0; i + 1 < bytes.byteLength; i += 2) if (((bytes[i]! | (bytes[i + 1]! << 8)) & mask) === mask) bad++;
    return bad;
}

const SAME: Partial<Record<SourceDtype, GgmlType>> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

type BlockQuantizer = (src: Float32Array, dst: Uint8Array, dstOffset?: number) => void;

/** The block quantizer of each block type. */
const QUANTIZERS: Partial<Record<GgmlType, BlockQuantizer>> = {
    [GgmlType.Q4_0]: quantizeQ4_0,
    [GgmlType.Q5_0]: quantizeQ5_0,
    [GgmlType.Q5_1]: quantizeQ5_1,
    [GgmlType.Q8_0]: quantizeQ8_0,
    [GgmlType.Q4_K]: quantizeQ4_K,
    [GgmlType.Q5_K]: quantizeQ5_K,
    [GgmlType.Q6_K]: quantizeQ6_K,
};

/** Elements decoded at a time for block types: small enough to stay in cache, a multiple of every block size. */
const SLAB = 8192;

/** Decodes elements [start, start + n) of a 16-bit source into `out` (float32). */
function decodeSlab(dtype: "F16" | "BF16", src: Uint16Array, start: number, n: number, out: Float32Array, outBits: Uint32Array): void {
    if (dtype === "BF16") for (let i = 0; i < n; i++) outBits[i] = src[start + i] << 16;
    else for (let i = 0; i < n; i++) out[i] = F16_TABLE[src[start + i]];
}

/** Encodes `bytes` (whole rows of `rowLength` elements of `dtype`) as `type`. */
export function encodeRows(dtype: SourceDtype, type: GgmlType, rowLength: number, bytes: Uint8Array): Uint8Array {
    if (SAME[dtype] === type) return bytes; // no conversion: bit-identical pass-through
    const n = bytes.byteLength / SOURCE_BYTES[dtype];
    const rows = n / rowLength;
    if (!Number.isInteger(rows)) throw new Error(`buffer of ${n} values is not whole rows of ${rowLength}`);
    const out = new Uint8Array(rowBytes(type, rowLength) * rows);
    const quantize = QUANTIZERS[type];
    if (quantize && dtype !== "F32") {
        // 16-bit sources go through a small float32 slab instead of a full-size decoded copy.
        const src = new Uint16Array(n);
        new Uint8Array(src.buffer).set(bytes);
        const slab = new Float32Array(SLAB);
        const bits = new Uint32Array(slab.buffer);
        const { blockSize, blockBytes } = TYPE_LAYOUT[type];
        for (let start = 0; start < n; start += SLAB) {
            const len = Math.min(SLAB, n - start);
            decodeSlab(dtype, src, start, len, slab, bits);
            quantize(len === SLAB ? slab : slab.subarray(0, len), out, (start / blockSize) * blockBytes);
        }
        return out;
    }
    const f = decodeToF32(dtype, bytes);
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
        default:
            if (!quantize) throw new Error(`internal: no encoder for type ${type}`);
            quantize(f, out);
            return out;
    }
}
