// Converts rows of a source dtype (as stored in safetensors or GGUF) into a GGUF tensor type, with
// ggml's own code (convert/quant/ggml.ts), so the same bytes as llama-quantize by construction. The
// same call runs in the conversion workers and, without workers, on the calling thread.

import { type GgmlType, rowBytes } from "../../src/core/gguf/constants.js";
import { ggmlQuantizer } from "./ggml.js";

/** Element encodings a source buffer may have. */
export type SourceDtype = "F32" | "F16" | "BF16";

export const SOURCE_BYTES: Record<SourceDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface Encoded {
    bytes: Uint8Array;
    /** NaN or infinite values in the source (written as they are). */
    nonFinite: number;
}

/** Encodes `bytes` (whole rows of `rowLength` elements of `dtype`) as `type`. */
export function encodeRows(dtype: SourceDtype, type: GgmlType, rowLength: number, bytes: Uint8Array): Encoded {
    const rows = bytes.byteLength / (rowLength * SOURCE_BYTES[dtype]);
    if (!Number.isInteger(rows))
        throw new Error(`internal: a buffer of ${bytes.byteLength} bytes is not whole ${dtype} rows of ${rowLength}`);
    const out = new Uint8Array(rowBytes(type, rowLength) * rows);
    const nonFinite = ggmlQuantizer().quantizeRows(dtype, type, rowLength, bytes, out);
    return { bytes: out, nonFinite };
}
