// Synthetic GlmasrModel checkpoints (GLM-ASR-Nano-2512, the remote-code layout llama.cpp converts).

import { GLMASR_CHAT_TEMPLATE, GLMASR_SPECIALS } from "./tokenizer-files.js";
import { glmVocabLayout, tensor, type SyntheticCheckpoint, type SyntheticTensor } from "./spec.js";

export interface GlmasrShape {
    audio: { dModel: number; layers: number; heads: number; ffn: number; mels: number; positions: number };
    mergeFactor: number;
    lm: { hidden: number; layers: number; heads: number; kvHeads: number; headDim: number; ffn: number; vocab: number; context: number };
}

export const GLMASR_SHAPES: Record<"tiny" | "full", GlmasrShape> = {
    // clip.cpp always encodes 3000-frame windows, so the position table keeps its 1500 rows even when tiny.
    // Three audio layers: llama.cpp's converter maps the adapter's linear_1/linear_2 through its
    // per-block name table, so it refuses an encoder of fewer than 3 blocks.
    tiny: {
        audio: { dModel: 64, layers: 3, heads: 2, ffn: 128, mels: 128, positions: 1500 },
        mergeFactor: 4,
        lm: { hidden: 128, layers: 2, heads: 4, kvHeads: 2, headDim: 32, ffn: 256, vocab: 640, context: 4096 },
    },
    full: {
        audio: { dModel: 1280, layers: 32, heads: 20, ffn: 5120, mels: 128, positions: 1500 },
        mergeFactor: 4,
        lm: { hidden: 2048, layers: 28, heads: 16, kvHeads: 4, headDim: 128, ffn: 6144, vocab: 59264, context: 8192 },
    },
};

export function glmasrCheckpoint(s: GlmasrShape, tiny: boolean): SyntheticCheckpoint {
    const a = s.audio,
        lm = s.lm;
    const w = "audio_encoder.whisper.";
    const tensors: SyntheticTensor[] = [
        tensor(`${w}conv1.weight`, a.dModel, a.mels, 3),
        tensor(`${w}conv1.bias`, a.dModel),
        tensor(`${w}conv2.weight`, a.dModel, a.dModel, 3),
        tensor(`${w}conv2.bias`, a.dModel),
        tensor(`${w}embed_positions.weight`, a.positions, a.dModel),
    ];
    for (let i = 0; i < a.layers; i++) {
        const p = `${w}layers.${i}.`;
        tensors.push(
            tensor(`${p}self_attn.q_proj.weight`, a.dModel, a.dModel),
            tensor(`${p}self_attn.q_proj.bias`, a.dModel),
            tensor(`${p}self_attn.k_proj.weight`, a.dModel, a.dModel),
            tensor(`${p}self_attn.v_proj.weight`, a.dModel, a.dModel),
            tensor(`${p}self_attn.v_proj.bias`, a.dModel),
            tensor(`${p}self_attn.out_proj.weight`, a.dModel, a.dModel),
            tensor(`${p}self_attn.out_proj.bias`, a.dModel),
            tensor(`${p}self_attn_layer_norm.weight`, a.dModel),
            tensor(`${p}self_attn_layer_norm.bias`, a.dModel),
            tensor(`${p}final_layer_norm.weight`, a.dModel),
            tensor(`${p}final_layer_norm.bias`, a.dModel),
            tensor(`${p}fc1.weight`, a.ffn, a.dModel),
            tensor(`${p}fc1.bias`, a.ffn),
            tensor(`${p}fc2.weight`, a.dModel, a.ffn),
            tensor(`${p}fc2.bias`, a.dModel),
        );
    }
    tensors.push(
        tensor("audio_encoder.layer_norm.weight", a.dModel),
        tensor("audio_encoder.layer_norm.bias", a.dModel),
        // No audio_encoder.proj.*: the remote code's AudioMLPAdapter has whisper, layer_norm, adapting and
        // audio_bos_eos_token only, and llama.cpp's converter cannot map a proj tensor.
        tensor("audio_encoder.adapting.0.weight", 2 * lm.hidden, a.dModel * s.mergeFactor),
        tensor("audio_encoder.adapting.0.bias", 2 * lm.hidden),
        tensor("audio_encoder.adapting.2.weight", lm.hidden, 2 * lm.hidden),
        tensor("audio_encoder.adapting.2.bias", lm.hidden),
        tensor("audio_encoder.audio_bos_eos_token.weight", 2, lm.hidden),
        tensor("model.embed_tokens.weight", lm.vocab, lm.hidden),
    );
    const headDim = lm.headDim;
    for (let i = 0; i < lm.layers; i++) {
        const p = `model.layers.${i}.`;
        tensors.push(
            tensor(`${p}input_layernorm.weight`, lm.hidden),
            tensor(`${p}self_attn.q_proj.weight`, lm.heads * headDim, lm.hidden),
            tensor(`${p}self_attn.k_proj.weight`, lm.kvHeads * headDim, lm.hidden),
            tensor(`${p}self_attn.v_proj.weight`, lm.kvHeads * headDim, lm.hidden),
            tensor(`${p}self_attn.o_proj.weight`, lm.hidden, lm.heads * headDim),
            tensor(`${p}post_attention_layernorm.weight`, lm.hidden),
            tensor(`${p}mlp.gate_proj.weight`, lm.ffn, lm.hidden),
            tensor(`${p}mlp.up_proj.weight`, lm.ffn, lm.hidden),
            tensor(`${p}mlp.down_proj.weight`, lm.hidden, lm.ffn),
        );
    }
    tensors.push(tensor("model.norm.weight", lm.hidden), tensor("lm_head.weight", lm.vocab, lm.hidden));
    const tokenizer = glmVocabLayout(lm.vocab, tiny, GLMASR_SPECIALS, true);
    if (!tiny) tokenizer.specialBase = 59246;
    const id = (t: string) => tokenizer.specialBase + GLMASR_SPECIALS.findIndex(([c]) => c === t);
    const eos = [id("<|endoftext|>"), id("<|user|>"), id("<|observation|>")];
    const config = {
        architectures: ["GlmasrModel"],
        model_type: "glmasr",
        auto_map: { AutoConfig: "configuration_glmasr.GlmasrConfig", AutoModelForCausalLM: "modeling_glmasr.GlmasrModel" },
        adapter_type: "mlp",
        merge_factor: s.mergeFactor,
        spec_aug: false,
        use_rope: true,
        max_whisper_length: a.positions,
        mlp_adapter_act: "gelu",
        torch_dtype: "bfloat16",
        transformers_version: "4.51.3",
        lm_config: {
            model_type: "llama",
            architectures: ["LlamaForCausalLM"],
            vocab_size: lm.vocab,
            hidden_size: lm.hidden,
            intermediate_size: lm.ffn,
            num_hidden_layers: lm.layers,
            num_attention_heads: lm.heads,
            num_key_value_heads: lm.kvHeads,
            head_dim: headDim,
            hidden_act: "silu",
            max_position_embeddings: lm.context,
            rms_norm_eps: 1e-5,
            rope_theta: 10000.0,
            rope_scaling: null,
            attention_bias: false,
            mlp_bias: false,
            tie_word_embeddings: false,
            eos_token_id: eos,
        },
        whisper_config: {
            model_type: "whisper",
            d_model: a.dModel,
            encoder_layers: a.layers,
            num_hidden_layers: a.layers,
            encoder_attention_heads: a.heads,
            encoder_ffn_dim: a.ffn,
            num_mel_bins: a.mels,
            max_source_positions: a.positions,
            activation_function: "gelu",
            scale_embedding: false,
        },
    };
    return {
        config,
        tensors,
        tokenizer,
        modelMaxLength: lm.context,
        chatTemplate: GLMASR_CHAT_TEMPLATE,
        chatTemplateFile: false,
        generationConfig: { eos_token_id: eos, pad_token_id: id("<|endoftext|>") },
    };
}
