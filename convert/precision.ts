// Which GGUF type each tensor gets when one type is requested for all weights: convert_hf_to_gguf.py's
// rules (f32, f16, bf16, and q8_0 for mmproj files). The quantized text types follow llama-quantize
// instead (quant-mixture.ts).

import { GgmlType, TYPE_LAYOUT } from "../src/core/gguf/constants.js";

/** Tensors convert_hf_to_gguf always keeps in F32 besides 1-D ones, norms and biases. */
const ALWAYS_F32 = [/\.position_embd\b/, /^position_embd\b/, /\bpos_embd\b/, /\.ffn_gate_inp\.weight$/, /\bssm_conv1d\b/];

export function keepsF32(name: string, shape: number[]): boolean {
    if (shape.length <= 1) return true;
    if (name.endsWith("_norm.weight")) return true;
    if (!name.endsWith(".weight") && !/\.weight\.\d+$/.test(name)) return true; // biases and other non-weights
    return ALWAYS_F32.some((re) => re.test(name));
}

/**
 * Type for one tensor. `requested` is the file's output type; `shape` is in ggml order.
 * Returns F16 when a block type cannot hold the row length (llama.cpp's fallback too).
 */
export function tensorType(name: string, shape: number[], requested: GgmlType): GgmlType {
    if (keepsF32(name, shape)) return GgmlType.F32;
    if (shape[0] % TYPE_LAYOUT[requested].blockSize !== 0) return GgmlType.F16;
    return requested;
}

/** Tensors llama-quantize never re-encodes: encoder convolution kernels, which clip.cpp needs in F16 or F32. */
export function keepsSourceType(name: string): boolean {
    return /(^|\.)patch_embd\.weight|\.patch_merger\.weight$|^a\.conv1d\./.test(name);
}
