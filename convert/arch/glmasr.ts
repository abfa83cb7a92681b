// GlmasrModel (GLM-ASR-Nano-2512, the remote-code layout llama.cpp supports): a `llama` text GGUF
// plus an audio mmproj with projector `glma`. Rules from llama.cpp's conversion/ultravox.py
// (GlmASRWhisperEncoderModel), conversion/llama.py and tools/mtmd/clip.cpp.

import { GgmlType, fileTypeFor } from "../../src/core/gguf/constants.js";
import { fileTypeOf, type OutType } from "../out-types.js";
import { optionalNumber, requireNumber, ropeParams, type Json } from "../hparams.js";
import { UserError } from "../../src/core/errors.js";
import { gatheredTensor, storedTensor } from "../tensor-source.js";
import { addVocabularyMetadata, buildVocabulary, GLM_SPECIAL_TOKEN_RULES } from "../tokenizer.js";
import { generalMetadata, permutedQK, planTensors, planTextTensors } from "./common.js";
import { DECODER_ATTENTION_TENSORS, resolveNames, type NameRule } from "./name-table.js";
import type { ArchitectureConverter, HfModel, PlannedFile } from "./types.js";

const LLAMA_TENSORS: NameRule[] = [
    ...DECODER_ATTENTION_TENSORS,
    { hf: "model.layers.{bid}.post_attention_layernorm.weight", gguf: "blk.{bid}.ffn_norm.weight" },
    { hf: "model.layers.{bid}.mlp.gate_proj.weight", gguf: "blk.{bid}.ffn_gate.weight" },
    { hf: "model.layers.{bid}.mlp.up_proj.weight", gguf: "blk.{bid}.ffn_up.weight" },
    { hf: "model.layers.{bid}.mlp.down_proj.weight", gguf: "blk.{bid}.ffn_down.weight" },
];

const ENCODER_TENSORS: NameRule[] = [
    { hf: "audio_encoder.whisper.conv1.weight", gguf: "a.conv1d.1.weight" },
    { hf: "audio_encoder.whisper.conv2.weight", gguf: "a.conv1d.2.weight" },
    { hf: "audio_encoder.whisper.embed_positions.weight", gguf: "a.position_embd.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn.q_proj.weight", gguf: "a.blk.{bid}.attn_q.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn.q_proj.bias", gguf: "a.blk.{bid}.attn_q.bias" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn.k_proj.weight", gguf: "a.blk.{bid}.attn_k.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn.v_proj.weight", gguf: "a.blk.{bid}.attn_v.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn.v_proj.bias", gguf: "a.blk.{bid}.attn_v.bias" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn.out_proj.weight", gguf: "a.blk.{bid}.attn_out.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn.out_proj.bias", gguf: "a.blk.{bid}.attn_out.bias" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn_layer_norm.weight", gguf: "a.blk.{bid}.ln1.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.self_attn_layer_norm.bias", gguf: "a.blk.{bid}.ln1.bias" },
    { hf: "audio_encoder.whisper.layers.{bid}.final_layer_norm.weight", gguf: "a.blk.{bid}.ln2.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.final_layer_norm.bias", gguf: "a.blk.{bid}.ln2.bias" },
    { hf: "audio_encoder.whisper.layers.{bid}.fc1.weight", gguf: "a.blk.{bid}.ffn_up.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.fc1.bias", gguf: "a.blk.{bid}.ffn_up.bias" },
    { hf: "audio_encoder.whisper.layers.{bid}.fc2.weight", gguf: "a.blk.{bid}.ffn_down.weight" },
    { hf: "audio_encoder.whisper.layers.{bid}.fc2.bias", gguf: "a.blk.{bid}.ffn_down.bias" },
    { hf: "audio_encoder.layer_norm.weight", gguf: "mm.a.norm_pre.weight" },
    { hf: "audio_encoder.layer_norm.bias", gguf: "mm.a.norm_pre.bias" },
    { hf: "audio_encoder.adapting.0.weight", gguf: "mm.a.mlp.1.weight" },
    { hf: "audio_encoder.adapting.0.bias", gguf: "mm.a.mlp.1.bias" },
    { hf: "audio_encoder.adapting.2.weight", gguf: "mm.a.mlp.2.weight" },
    { hf: "audio_encoder.adapting.2.bias", gguf: "mm.a.mlp.2.bias" },
];

/** Conv biases are stored [D] but clip.cpp wants them [D, 1] (ggml {1, D}). */
const CONV_BIASES: [string, string][] = [
    ["audio_encoder.whisper.conv1.bias", "a.conv1d.1.bias"],
    ["audio_encoder.whisper.conv2.bias", "a.conv1d.2.bias"],
];
const BOA_EOA = "audio_encoder.audio_bos_eos_token.weight";

/**
 * llama.cpp's llama q/k row order: HF rotates halves (i, i + d/2) per head, ggml's normal RoPE rotates
 * adjacent pairs (2i, 2i + 1); output row 2i + s of a head comes from row s * d/2 + i.
 */
export function llamaRowOrder(headDim: number): (row: number) => number {
    const half = headDim / 2;
    return (row) => {
        const h = Math.floor(row / headDim),
            j = row % headDim;
        return h * headDim + (j % 2) * half + Math.floor(j / 2);
    };
}

function lmConfig(config: Json): Json {
    const lm = config.lm_config ?? config.text_config;
    if (!lm || typeof lm !== "object") throw new UserError("config.json has no lm_config (the GLM-ASR language model settings)");
    return lm;
}

async function planText(model: HfModel, out: OutType): Promise<PlannedFile> {
    const h = lmConfig(model.config);
    const layers = requireNumber(h, "layer count", "num_hidden_layers");
    const hidden = requireNumber(h, "hidden size", "hidden_size");
    const heads = requireNumber(h, "attention head count", "num_attention_heads");
    const kvHeads = optionalNumber(h, "num_key_value_heads") ?? heads;
    const headDim = optionalNumber(h, "head_dim") ?? hidden / heads;
    const vocabSize = requireNumber(h, "vocab_size", "vocab_size");
    const rope = ropeParams(h);

    const meta = generalMetadata("llama", "model", fileTypeOf(out))
        .u32("llama.vocab_size", vocabSize)
        .u32("llama.block_count", layers)
        .u32("llama.context_length", requireNumber(h, "context length", "max_position_embeddings"))
        .u32("llama.embedding_length", hidden)
        .u32("llama.feed_forward_length", requireNumber(h, "feed-forward size", "intermediate_size"))
        .u32("llama.attention.head_count", heads)
        .u32("llama.attention.head_count_kv", kvHeads);
    if (rope.theta !== undefined) meta.f32("llama.rope.freq_base", rope.theta);
    meta.f32("llama.attention.layer_norm_rms_epsilon", requireNumber(h, "RMS norm epsilon", "rms_norm_eps"));
    if (h.head_dim !== undefined) meta.u32("llama.attention.key_length", headDim).u32("llama.attention.value_length", headDim);
    meta.u32("llama.rope.dimension_count", headDim);

    const vocab = buildVocabulary(model.tokenizer, vocabSize);
    addVocabularyMetadata(meta, vocab, model.tokenizer, h, "glm4", GLM_SPECIAL_TOKEN_RULES);

    const names = resolveNames(model.checkpoint, LLAMA_TENSORS, layers);
    const sources = permutedQK(model, names, llamaRowOrder(headDim));
    return { role: "text", metadata: meta, tensors: planTextTensors(model, names, out, layers, { sources }) };
}

async function planAudio(model: HfModel, type: GgmlType): Promise<PlannedFile> {
    const w: Json = model.config.whisper_config ?? model.config.audio_config;
    if (!w || typeof w !== "object") throw new UserError("config.json has no whisper_config (the GLM-ASR audio encoder settings)");
    const lm = lmConfig(model.config);
    const layers = requireNumber(w, "audio encoder layer count", "encoder_layers", "num_hidden_layers");
    const meta = generalMetadata("clip", "mmproj", fileTypeFor(type))
        .bool("clip.has_audio_encoder", true)
        .u32("clip.audio.projection_dim", requireNumber(lm, "language model hidden size", "hidden_size"))
        .u32("clip.audio.embedding_length", requireNumber(w, "audio d_model", "d_model", "hidden_size"))
        .u32("clip.audio.feed_forward_length", requireNumber(w, "audio ffn size", "encoder_ffn_dim", "intermediate_size"))
        .u32("clip.audio.block_count", layers)
        .u32("clip.audio.attention.head_count", requireNumber(w, "audio head count", "encoder_attention_heads", "num_attention_heads"))
        .str("clip.projector_type", "glma")
        .u32("clip.audio.num_mel_bins", requireNumber(w, "mel bin count", "num_mel_bins"))
        .f32("clip.audio.attention.layer_norm_epsilon", optionalNumber(w, "layer_norm_eps") ?? 1e-5)
        .u32(
            "clip.audio.projector.stack_factor",
            requireNumber(model.config, "merge_factor (frames stacked by the adapter)", "merge_factor"),
        );

    const names = resolveNames(model.checkpoint, ENCODER_TENSORS, layers);
    // Conv kernels are F16 whatever the output type (llama.cpp forces them); positions stay F32.
    const forced = (gguf: string) => (gguf.startsWith("a.conv1d.") ? GgmlType.F16 : undefined);
    const tensors = planTensors(model, names, type, { forced });
    for (const [hf, gguf] of CONV_BIASES) {
        const d = model.checkpoint.get(hf).shape[0];
        tensors.push({ name: gguf, shape: [1, d], type: GgmlType.F32, source: storedTensor(model.checkpoint, hf, 1) });
    }
    const boa = model.checkpoint.get(BOA_EOA);
    if (boa.shape.length !== 2 || boa.shape[0] !== 2) throw new UserError(`${BOA_EOA} should have shape [2, hidden], has [${boa.shape}]`);
    const hidden = boa.shape[1];
    for (const [row, gguf] of [
        [0, "v.boi"],
        [1, "v.eoi"],
    ] as const) {
        tensors.push({
            name: gguf,
            shape: [hidden],
            type: GgmlType.F32,
            source: gatheredTensor(model.checkpoint, BOA_EOA, hidden, 1, () => [row * hidden, hidden]),
        });
    }
    return { role: "audio", metadata: meta, tensors };
}

export const glmasr: ArchitectureConverter = {
    architectures: ["GlmasrModel"],
    summary: "GLM-ASR-Nano-2512: llama text GGUF + audio mmproj (glma)",
    plan: async (model, types) => [await planText(model, types.text), await planAudio(model, types.mmproj)],
};
