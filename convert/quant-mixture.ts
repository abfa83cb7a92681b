// llama-quantize's type mixtures: which GGUF type each tensor of a text model gets under the file
// types q4_k_m, q5_k_m, q6_k, q4_0 and q8_0. Mirrors src/llama-quant.cpp of the bundled llama.cpp
// (tensor_allows_quantization, tensor_get_category, llama_tensor_get_type_impl,
// tensor_type_fallback) for what applies without an importance matrix or overrides, for the text
// architectures autoglm writes (glm4, llama). Branches for other cases are named, not copied:
// Falcon, 70B llama models, models with 8 experts, the IQ/Q2/Q3 file types.

import { GgmlType, TYPE_LAYOUT } from "../src/core/gguf/constants.js";
import type { MixtureType } from "./out-types.js";

export interface MixtureTensor {
    name: string;
    /** ggml order (innermost first). */
    shape: number[];
    /** The type the tensor has in the input (or would have in an f16 file): kept when it is not quantized. */
    type: GgmlType;
}

/** The type every weight starts from (llama_ftype_get_default_type). */
const DEFAULT_TYPE: Record<MixtureType, GgmlType> = {
    q4_k_m: GgmlType.Q4_K,
    q5_k_m: GgmlType.Q5_K,
    q6_k: GgmlType.Q6_K,
    q4_0: GgmlType.Q4_0,
    q8_0: GgmlType.Q8_0,
};

/** Substrings of names never quantized (tensor_allows_quantization): small, positional or
 * convolution tensors, and multimodal ones. */
const NEVER_QUANTIZED = [
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
];
/** Whole names never quantized: positional embeddings and token types (BERT). */
const NEVER_QUANTIZED_NAMES = ["position_embd.weight", "token_types.weight"];

/** ggml_n_dims: trailing dimensions of size 1 do not count. */
function nDims(shape: number[]): number {
    for (let i = shape.length - 1; i >= 1; i--) if (shape[i] > 1) return i + 1;
    return 1;
}

/** Rule: only 2-D and 3-D tensors whose name ends in "weight" are quantized, minus the lists above. */
export function allowsQuantization(name: string, shape: number[]): boolean {
    if (nDims(shape) < 2) return false;
    if (!name.endsWith("weight")) return false;
    if (NEVER_QUANTIZED_NAMES.includes(name)) return false;
    return !NEVER_QUANTIZED.some((s) => name.includes(s));
}

type Category = "output" | "token_embd" | "attn_v" | "attn_k" | "attn_q" | "attn_output" | "ffn_up" | "ffn_gate" | "ffn_down" | "other";

/** tensor_get_category: broad roles by name, first match wins. attn_qkv and attn_kv_b count as attn_v
 * (category_is_attn_v), which is all the mixtures here look at. */
function categoryOf(name: string): Category {
    if (name === "output.weight") return "output";
    if (name === "token_embd.weight" || name === "per_layer_token_embd.weight") return "token_embd";
    if (name.includes("attn_qkv.weight") || name.includes("attn_kv_b.weight") || name.includes("attn_v.weight")) return "attn_v";
    if (name.includes("attn_k.weight")) return "attn_k";
    if (name.includes("attn_q.weight")) return "attn_q";
    if (name.includes("attn_output.weight")) return "attn_output";
    if (name.includes("ffn_up")) return "ffn_up";
    if (name.includes("ffn_gate")) return "ffn_gate";
    if (name.includes("ffn_down")) return "ffn_down";
    return "other";
}

/** Rule: the first and last eighth of the layers, and every third one between, get more bits. */
function useMoreBits(i: number, n: number): boolean {
    const eighth = Math.trunc(n / 8);
    return i < eighth || i >= Math.trunc((7 * n) / 8) || (i - eighth) % 3 === 2;
}

/** The order llama-quantize visits tensors in (its weights map): by layer number ("blk.N.", -1 for
 * the rest), then by name. The attn_v and ffn_down counters run in this order. */
function visitOrder(tensors: MixtureTensor[]): number[] {
    const layer = (n: string) => {
        const m = /^blk\.(\d+)/.exec(n);
        return m ? Number(m[1]) : -1;
    };
    return tensors
        .map((_, i) => i)
        .sort((a, b) => {
            const la = layer(tensors[a].name),
                lb = layer(tensors[b].name);
            if (la !== lb) return la - lb;
            const na = tensors[a].name,
                nb = tensors[b].name;
            return na < nb ? -1 : na > nb ? 1 : 0;
        });
}

/** tensor_type_fallback: a row length the chosen type's blocks do not divide. */
function fallback(type: GgmlType, rowLength: number): GgmlType {
    const fits = (t: GgmlType) => rowLength % TYPE_LAYOUT[t].blockSize === 0;
    if (fits(type)) return type;
    // Rule: each 256-block K type has a 32-block stand-in; a 32-block type has none.
    const standIn: Partial<Record<GgmlType, GgmlType>> = {
        [GgmlType.Q4_K]: GgmlType.Q5_0,
        [GgmlType.Q5_K]: GgmlType.Q5_1,
        [GgmlType.Q6_K]: GgmlType.Q8_0,
    };
    const t = standIn[type] ?? type;
    // Rule: when even that does not fit (a row length not a multiple of 32), F16.
    return fits(t) ? t : GgmlType.F16;
}

/**
 * The type of every tensor of a text model under `mixture`. `layerCount` is the model's block
 * count (llama.cpp's n_layer_all, the ffn_down denominator).
 */
export function mixtureTypes(tensors: MixtureTensor[], mixture: MixtureType, layerCount: number): GgmlType[] {
    const base = DEFAULT_TYPE[mixture];
    const kMixed = mixture === "q4_k_m" || mixture === "q5_k_m";
    // Rule: without an output.weight the token embeddings are the output too, and take its rule.
    const tied = !tensors.some((t) => t.name === "output.weight");
    const attnVCount = tensors.filter((t) => categoryOf(t.name) === "attn_v").length;
    let attnV = 0,
        ffnDown = 0;
    const types = tensors.map((t) => t.type);
    for (const i of visitOrder(tensors)) {
        const { name, shape } = tensors[i];
        if (!allowsQuantization(name, shape)) continue; // keeps its type (F32 norms and biases...)
        const category = categoryOf(name);
        let type = base;
        if (category === "output" || (tied && category === "token_embd")) {
            // Rule: the output matrix gets Q6_K, or Q8_0 when the file's type is Q8_0 or its blocks do
            // not divide the row (then the fallback below may still make it F16).
            if (shape[0] % TYPE_LAYOUT[base].blockSize !== 0) type = GgmlType.Q8_0;
            else if (base !== GgmlType.Q8_0) type = GgmlType.Q6_K;
        } else if (category === "attn_v") {
            // Rule: q4_k_m / q5_k_m give attn_v (and fused qkv) Q6_K in the layers use_more_bits picks,
            // counted over the attn_v tensors in visit order.
            if (kMixed && useMoreBits(attnV, attnVCount)) type = GgmlType.Q6_K;
            attnV++;
        } else if (category === "ffn_down") {
            // Rule: q4_k_m / q5_k_m give ffn_down Q6_K in the layers use_more_bits picks, out of the
            // block count. (q4_0 raises early ffn_down layers to Q4_1 only with an importance matrix.)
            if (kMixed && useMoreBits(ffnDown, layerCount)) type = GgmlType.Q6_K;
            ffnDown++;
        }
        // Rule: attn_k, attn_q, attn_output, ffn_up, ffn_gate and untied token_embd keep the file's
        // type under these five mixtures (their changes are for experts, Falcon or IQ/Q2/Q3 types).
        types[i] = fallback(type, shape[0]);
    }
    return types;
}
