// Which GGUF type each tensor gets for a requested output type. The rules are llama.cpp's:
// convert_hf_to_gguf.py for f32/f16/bf16/q8_0, and llama-quantize for q4_0 (as if the file had
// been converted to bf16 first and then quantized).

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
    let t = requested;
    // llama-quantize gives output.weight Q6_K under Q4_0. autoglm has no Q6_K encoder and uses
    // Q8_0, the type llama-quantize itself falls back to when Q6_K cannot hold the row (README).
    if (requested === GgmlType.Q4_0 && name === "output.weight") t = GgmlType.Q8_0;
    if (shape[0] % TYPE_LAYOUT[t].blockSize !== 0) return GgmlType.F16;
    return t;
}

/** Tensors llama-quantize never re-encodes: encoder convolution kernels, which clip.cpp needs in F16 or F32. */
export function keepsSourceType(name: string): boolean {
    return /(^|\.)patch_embd\.weight|\.patch_merger\.weight$|^a\.conv1d\./.test(name);
}
