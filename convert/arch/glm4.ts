// Glm4ForCausalLM (GLM-4-0414, text only) and the text half of GLM-4.1V: llama.cpp arch `glm4`.
// Rules from llama.cpp's conversion/glm.py (Glm4Model) and src/models/glm4.cpp.

import { ValueType } from "../../src/core/gguf/constants.js";
import { fileTypeOf, type OutType } from "../out-types.js";
import { optionalNumber, requireNumber, ropeParams, textHparams } from "../hparams.js";
import { UserError } from "../../src/core/errors.js";
import { addVocabularyMetadata, buildVocabulary, GLM_SPECIAL_TOKEN_RULES } from "../tokenizer.js";
import { generalMetadata, permutedQK, planTextTensors } from "./common.js";
import { DECODER_ATTENTION_TENSORS, resolveNames, type NameRule } from "./name-table.js";
import type { ArchitectureConverter, HfModel, PlannedFile } from "./types.js";

export const GLM4_TEXT_TENSORS: NameRule[] = [
    ...DECODER_ATTENTION_TENSORS,
    // HF's post_self_attn_layernorm follows attention; its post_attention_layernorm precedes the MLP.
    { hf: "model.layers.{bid}.post_self_attn_layernorm.weight", gguf: "blk.{bid}.post_attention_norm.weight" },
    { hf: "model.layers.{bid}.post_attention_layernorm.weight", gguf: "blk.{bid}.ffn_norm.weight" },
    { hf: "model.layers.{bid}.mlp.gate_up_proj.weight", gguf: "blk.{bid}.ffn_up.weight" }, // stays fused [gate; up]
    { hf: "model.layers.{bid}.mlp.down_proj.weight", gguf: "blk.{bid}.ffn_down.weight" },
    { hf: "model.layers.{bid}.post_mlp_layernorm.weight", gguf: "blk.{bid}.post_ffw_norm.weight" },
];

/** HF text names, with the `language_model.` level of newer layouts removed. */
export function normalizeTextName(name: string): string {
    return name.replaceAll("language_model.", "");
}

/**
 * Row order for M-RoPE: ggml's M-RoPE kernel rotates NeoX-style pairs (i, i + rot/2) while HF GLM
 * rotates interleaved pairs (2i, 2i + 1). Within each head the rotary rows become evens then odds.
 */
export function neoxRowOrder(headDim: number, rotaryDim: number): (row: number) => number {
    const half = rotaryDim / 2;
    return (row) => {
        const h = Math.floor(row / headDim),
            j = row % headDim;
        const src = j < half ? 2 * j : j < rotaryDim ? 2 * (j - half) + 1 : j;
        return h * headDim + src;
    };
}

export async function planGlm4Text(model: HfModel, out: OutType): Promise<PlannedFile> {
    const h = textHparams(model.config);
    const layers = requireNumber(h, "layer count", "num_hidden_layers");
    const hidden = requireNumber(h, "hidden size", "hidden_size");
    const heads = requireNumber(h, "attention head count", "num_attention_heads");
    const kvHeads = optionalNumber(h, "num_key_value_heads") ?? heads;
    const vocabSize = requireNumber(h, "vocab_size", "vocab_size");
    const headDim = optionalNumber(h, "head_dim") ?? hidden / heads;
    const rope = ropeParams(h);
    const rotaryDim = Math.trunc(headDim * (rope.partialRotaryFactor ?? 0.5));
    if (rotaryDim % 2 !== 0) throw new UserError(`rotary dimension ${rotaryDim} is odd`);
    const mrope = rope.mropeSection !== undefined;

    const meta = generalMetadata("glm4", "model", fileTypeOf(out));
    meta.u32("glm4.block_count", layers)
        .u32(
            "glm4.context_length",
            requireNumber(
                h,
                "context length",
                "max_position_embeddings",
                "n_ctx",
                "n_positions",
                "max_length",
                "max_sequence_length",
                "model_max_length",
            ),
        )
        .u32("glm4.embedding_length", hidden)
        .u32("glm4.feed_forward_length", requireNumber(h, "feed-forward size", "intermediate_size"))
        .u32("glm4.attention.head_count", heads)
        .u32("glm4.attention.head_count_kv", kvHeads);
    if (mrope) {
        const s = [...rope.mropeSection!, 0, 0, 0, 0].slice(0, 4);
        meta.array("glm4.rope.dimension_sections", ValueType.INT32, s);
    }
    if (rope.theta !== undefined) meta.f32("glm4.rope.freq_base", rope.theta);
    meta.f32("glm4.attention.layer_norm_rms_epsilon", requireNumber(h, "RMS norm epsilon", "rms_norm_eps", "norm_eps"));
    if (h.head_dim !== undefined) meta.u32("glm4.attention.key_length", headDim).u32("glm4.attention.value_length", headDim);
    meta.u32("glm4.rope.dimension_count", rotaryDim);

    const vocab = buildVocabulary(model.tokenizer, vocabSize);
    addVocabularyMetadata(meta, vocab, model.tokenizer, model.config, "glm4", GLM_SPECIAL_TOKEN_RULES);

    const names = resolveNames(model.checkpoint, GLM4_TEXT_TENSORS, layers, normalizeTextName);
    checkNoStrayTextTensors(model, new Set(names.map((n) => n.hf)));
    const sources = mrope ? permutedQK(model, names, neoxRowOrder(headDim, rotaryDim)) : undefined;
    return { role: "text", metadata: meta, tensors: planTextTensors(model, names, out, layers, { sources }) };
}

/** A text-model tensor no rule maps (say, a layer beyond num_hidden_layers) is an error, as in llama.cpp. */
function checkNoStrayTextTensors(model: HfModel, used: Set<string>): void {
    for (const name of model.checkpoint.tensors.keys()) {
        const n = normalizeTextName(name);
        const isText =
            n.startsWith("model.layers.") || n.startsWith("model.embed_tokens") || n === "model.norm.weight" || n.startsWith("lm_head.");
        if (isText && !used.has(name) && !n.endsWith(".rotary_emb.inv_freq")) {
            throw new UserError(`cannot map tensor ${name} (does config.json's num_hidden_layers match the weights?)`);
        }
    }
}

export const glm4: ArchitectureConverter = {
    architectures: ["Glm4ForCausalLM"],
    summary: "GLM-4 text models (GLM-4-9B-0414): one glm4 GGUF",
    plan: async (model, types) => [await planGlm4Text(model, types.text)],
};
