// Synthetic Glm4vForConditionalGeneration checkpoints (AutoGLM-Phone-9B / GLM-4.1V layout).

import { GLM_SPECIALS, GLM4V_CHAT_TEMPLATE } from "./tokenizer-files.js";
import { glmVocabLayout, tensor, type SyntheticCheckpoint, type SyntheticTensor } from "./spec.js";

export interface Glm4vShape {
    hidden: number;
    layers: number;
    heads: number;
    kvHeads: number;
    ffn: number;
    vocab: number;
    context: number;
    mropeSection: [number, number, number];
    vision: { depth: number; hidden: number; heads: number; patch: number; imageSize: number; merge: number; intermediate: number };
}

export const GLM4V_SHAPES: Record<"tiny" | "full", Glm4vShape> = {
    tiny: {
        hidden: 128,
        layers: 2,
        heads: 4,
        kvHeads: 2,
        ffn: 256,
        vocab: 640,
        context: 65536,
        mropeSection: [2, 3, 3],
        vision: { depth: 2, hidden: 64, heads: 2, patch: 14, imageSize: 56, merge: 2, intermediate: 256 },
    },
    // AutoGLM-Phone-9B / GLM-4.1V-9B (docs/model-facts.md). The tiny shape declares the same trained context.
    full: {
        hidden: 4096,
        layers: 40,
        heads: 32,
        kvHeads: 2,
        ffn: 13696,
        vocab: 151552,
        context: 65536,
        mropeSection: [8, 12, 12],
        vision: { depth: 24, hidden: 1536, heads: 12, patch: 14, imageSize: 336, merge: 2, intermediate: 13696 },
    },
};

/**
 * `layout` picks the transformers generation: "5.x" nests rope under text_config.rope_parameters and
 * prefixes weights model.language_model.* / model.visual.*; "4.5x" uses rope_scaling + rope_theta and
 * the legacy model.layers.* / visual.* names.
 */
export function glm4vCheckpoint(s: Glm4vShape, tiny: boolean, layout: "5.x" | "4.5x"): SyntheticCheckpoint {
    const headDim = s.hidden / s.heads;
    const v = s.vision;
    const lm = layout === "5.x" ? "model.language_model." : "model.";
    const vis = layout === "5.x" ? "model.visual." : "visual.";
    const tensors: SyntheticTensor[] = [tensor(`${lm}embed_tokens.weight`, s.vocab, s.hidden)];
    for (let i = 0; i < s.layers; i++) {
        const p = `${lm}layers.${i}.`;
        tensors.push(
            tensor(`${p}input_layernorm.weight`, s.hidden),
            tensor(`${p}self_attn.q_proj.weight`, s.heads * headDim, s.hidden),
            tensor(`${p}self_attn.q_proj.bias`, s.heads * headDim),
            tensor(`${p}self_attn.k_proj.weight`, s.kvHeads * headDim, s.hidden),
            tensor(`${p}self_attn.k_proj.bias`, s.kvHeads * headDim),
            tensor(`${p}self_attn.v_proj.weight`, s.kvHeads * headDim, s.hidden),
            tensor(`${p}self_attn.v_proj.bias`, s.kvHeads * headDim),
            tensor(`${p}self_attn.o_proj.weight`, s.hidden, s.heads * headDim),
            tensor(`${p}post_self_attn_layernorm.weight`, s.hidden),
            tensor(`${p}post_attention_layernorm.weight`, s.hidden),
            tensor(`${p}mlp.gate_up_proj.weight`, 2 * s.ffn, s.hidden),
            tensor(`${p}mlp.down_proj.weight`, s.hidden, s.ffn),
            tensor(`${p}post_mlp_layernorm.weight`, s.hidden),
        );
    }
    tensors.push(tensor(`${lm}norm.weight`, s.hidden), tensor("lm_head.weight", s.vocab, s.hidden));
    const positions = (v.imageSize / v.patch) ** 2;
    tensors.push(
        tensor(`${vis}patch_embed.proj.weight`, v.hidden, 3, 2, v.patch, v.patch),
        tensor(`${vis}patch_embed.proj.bias`, v.hidden),
        tensor(`${vis}post_conv_layernorm.weight`, v.hidden),
        tensor(`${vis}embeddings.position_embedding.weight`, positions, v.hidden),
    );
    for (let i = 0; i < v.depth; i++) {
        const p = `${vis}blocks.${i}.`;
        tensors.push(
            tensor(`${p}norm1.weight`, v.hidden),
            tensor(`${p}attn.qkv.weight`, 3 * v.hidden, v.hidden),
            tensor(`${p}attn.proj.weight`, v.hidden, v.hidden),
            tensor(`${p}norm2.weight`, v.hidden),
            tensor(`${p}mlp.gate_proj.weight`, s.hidden, v.hidden),
            tensor(`${p}mlp.up_proj.weight`, s.hidden, v.hidden),
            tensor(`${p}mlp.down_proj.weight`, v.hidden, s.hidden),
        );
    }
    tensors.push(
        tensor(`${vis}post_layernorm.weight`, v.hidden),
        tensor(`${vis}downsample.weight`, s.hidden, v.hidden, v.merge, v.merge),
        tensor(`${vis}downsample.bias`, s.hidden),
        tensor(`${vis}merger.proj.weight`, s.hidden, s.hidden),
        tensor(`${vis}merger.post_projection_norm.weight`, s.hidden),
        tensor(`${vis}merger.post_projection_norm.bias`, s.hidden),
        tensor(`${vis}merger.gate_proj.weight`, v.intermediate, s.hidden),
        tensor(`${vis}merger.up_proj.weight`, v.intermediate, s.hidden),
        tensor(`${vis}merger.down_proj.weight`, s.hidden, v.intermediate),
    );

    const tokenizer = glmVocabLayout(s.vocab, tiny, GLM_SPECIALS, layout === "5.x");
    const id = (t: string) => tokenizer.specialBase + GLM_SPECIALS.findIndex(([c]) => c === t);
    const eos = [id("<|endoftext|>"), id("<|user|>"), id("<|observation|>")];
    const rope =
        layout === "5.x"
            ? { rope_parameters: { rope_type: "default", rope_theta: 10000.0, mrope_section: s.mropeSection, partial_rotary_factor: 0.5 } }
            : {
                  partial_rotary_factor: 0.5,
                  rope_theta: 10000.0,
                  rope_scaling: { type: "default", rope_type: "default", mrope_section: s.mropeSection },
              };
    const textConfig = {
        model_type: "glm4v_text",
        vocab_size: s.vocab,
        hidden_size: s.hidden,
        intermediate_size: s.ffn,
        num_hidden_layers: s.layers,
        num_attention_heads: s.heads,
        num_key_value_heads: s.kvHeads,
        hidden_act: "silu",
        max_position_embeddings: s.context,
        rms_norm_eps: 1e-5,
        attention_bias: true,
        attention_dropout: 0.0,
        ...rope,
        image_token_id: id("<|image|>"),
        video_token_id: id("<|video|>"),
        pad_token_id: id("<|endoftext|>"),
        eos_token_id: eos,
        tie_word_embeddings: false,
        use_cache: true,
        initializer_range: 0.02,
        [layout === "5.x" ? "dtype" : "torch_dtype"]: "bfloat16",
    };
    const config = {
        architectures: ["Glm4vForConditionalGeneration"],
        model_type: "glm4v",
        image_start_token_id: id("<|begin_of_image|>"),
        image_end_token_id: id("<|end_of_image|>"),
        video_start_token_id: id("<|begin_of_video|>"),
        video_end_token_id: id("<|end_of_video|>"),
        image_token_id: id("<|image|>"),
        video_token_id: id("<|video|>"),
        [layout === "5.x" ? "dtype" : "torch_dtype"]: "bfloat16",
        transformers_version: layout === "5.x" ? "5.0.0" : "4.57.1",
        text_config: textConfig,
        vision_config: {
            model_type: layout === "5.x" ? "glm4v_vision" : "glm4v",
            depth: v.depth,
            hidden_size: v.hidden,
            num_heads: v.heads,
            intermediate_size: v.intermediate,
            out_hidden_size: s.hidden,
            hidden_act: "silu",
            attention_bias: false,
            attention_dropout: 0.0,
            in_channels: 3,
            image_size: v.imageSize,
            patch_size: v.patch,
            spatial_merge_size: v.merge,
            temporal_patch_size: 2,
            rms_norm_eps: 1e-5,
            initializer_range: 0.02,
        },
    };
    return {
        config,
        tensors,
        tokenizer,
        modelMaxLength: s.context,
        chatTemplate: GLM4V_CHAT_TEMPLATE,
        chatTemplateFile: layout === "5.x",
        generationConfig: {
            _from_model_config: true,
            do_sample: true,
            eos_token_id: eos,
            pad_token_id: id("<|endoftext|>"),
            temperature: 0.8,
            top_p: 0.6,
            top_k: 2,
        },
        preprocessorConfig: {
            image_processor_type: "Glm4vImageProcessor",
            processor_class: "Glm4vProcessor",
            do_resize: true,
            resample: 3,
            size: { shortest_edge: 12544, longest_edge: 9633792 },
            do_rescale: true,
            rescale_factor: 1 / 255,
            do_normalize: true,
            image_mean: [0.48145466, 0.4578275, 0.40821073],
            image_std: [0.26862954, 0.26130258, 0.27577711],
            do_convert_rgb: true,
            patch_size: v.patch,
            temporal_patch_size: 2,
            merge_size: v.merge,
        },
    };
}
