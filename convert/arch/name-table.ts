// Tensor-name tables: HF name patterns ("{bid}" = layer index) to GGUF names, expanded per layer
// and resolved against a checkpoint. Keeps every architecture file a table, not string code.

import { CheckpointError, type SafetensorsCheckpoint } from "../safetensors.js";

export interface NameRule {
    hf: string;
    gguf: string;
    /** Absent tensors are skipped instead of reported (biases some checkpoints do not have). */
    optional?: boolean;
}

export interface ResolvedName {
    hf: string;
    gguf: string;
}

/**
 * Resolves `rules` for layers 0..layers-1 against the checkpoint's names (after `normalize`).
 * Reports every required tensor that is missing in one error.
 */
export function resolveNames(
    ckpt: SafetensorsCheckpoint,
    rules: NameRule[],
    layers: number,
    normalize: (n: string) => string = (n) => n,
): ResolvedName[] {
    const byNormal = new Map<string, string>();
    for (const name of ckpt.tensors.keys()) byNormal.set(normalize(name), name);
    const out: ResolvedName[] = [];
    const missing: string[] = [];
    for (const rule of rules) {
        const ids = rule.hf.includes("{bid}") ? Array.from({ length: layers }, (_, i) => i) : [undefined];
        for (const bid of ids) {
            const hf = rule.hf.replace("{bid}", String(bid));
            const stored = byNormal.get(hf);
            if (stored === undefined) {
                if (!rule.optional) missing.push(hf);
                continue;
            }
            out.push({ hf: stored, gguf: rule.gguf.replace("{bid}", String(bid)) });
        }
    }
    if (missing.length) {
        throw new CheckpointError(
            `missing tensors: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`,
        );
    }
    return out;
}

/** The tensors every llama-style decoder shares: embeddings, output head, attention. */
export const DECODER_ATTENTION_TENSORS: NameRule[] = [
    { hf: "model.embed_tokens.weight", gguf: "token_embd.weight" },
    { hf: "model.norm.weight", gguf: "output_norm.weight" },
    { hf: "lm_head.weight", gguf: "output.weight", optional: true },
    { hf: "model.layers.{bid}.input_layernorm.weight", gguf: "blk.{bid}.attn_norm.weight" },
    { hf: "model.layers.{bid}.self_attn.q_proj.weight", gguf: "blk.{bid}.attn_q.weight" },
    { hf: "model.layers.{bid}.self_attn.q_proj.bias", gguf: "blk.{bid}.attn_q.bias", optional: true },
    { hf: "model.layers.{bid}.self_attn.k_proj.weight", gguf: "blk.{bid}.attn_k.weight" },
    { hf: "model.layers.{bid}.self_attn.k_proj.bias", gguf: "blk.{bid}.attn_k.bias", optional: true },
    { hf: "model.layers.{bid}.self_attn.v_proj.weight", gguf: "blk.{bid}.attn_v.weight" },
    { hf: "model.layers.{bid}.self_attn.v_proj.bias", gguf: "blk.{bid}.attn_v.bias", optional: true },
    { hf: "model.layers.{bid}.self_attn.o_proj.weight", gguf: "blk.{bid}.attn_output.weight" },
];
