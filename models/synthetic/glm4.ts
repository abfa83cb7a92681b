// Synthetic Glm4ForCausalLM checkpoints (GLM-4-9B-0414 layout: flat config, head_dim, no M-RoPE).

import { GLM_SPECIALS, GLM4V_CHAT_TEMPLATE } from "./tokenizer-files.js";
import { glmVocabLayout, tensor, type SyntheticCheckpoint, type SyntheticTensor } from "./spec.js";

export interface Glm4Shape {
    hidden: number;
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    ffn: number;
    vocab: number;
    context: number;
}

export const GLM4_SHAPES: Record<"tiny" | "full" | "bench" | "k256" | "ragged", Glm4Shape> = {
    tiny: { hidden: 128, layers: 2, heads: 4, kvHeads: 2, headDim: 32, ffn: 256, vocab: 640, context: 4096 },
    full: { hidden: 4096, layers: 40, heads: 32, kvHeads: 2, headDim: 128, ffn: 13696, vocab: 151552, context: 32768 },
    // The ~200M-parameter CPU benchmark shape of docs/benchmark-method.md.
    bench: { hidden: 1024, layers: 12, heads: 16, kvHeads: 2, headDim: 64, ffn: 2816, vocab: 32000, context: 4096 },
    // Quantizer tests: every row length a multiple of 256 (K-quant blocks really used), and 8 layers
    // so llama-quantize's use_more_bits picks some layers and not others.
    k256: { hidden: 256, layers: 8, heads: 4, kvHeads: 2, headDim: 64, ffn: 512, vocab: 640, context: 4096 },
    // Quantizer tests: row lengths 80 (not a multiple of 32: F16 fallback) and 160 (32-block fallbacks).
    ragged: { hidden: 80, layers: 2, heads: 4, kvHeads: 2, headDim: 20, ffn: 160, vocab: 640, context: 4096 },
};

export function glm4Checkpoint(s: Glm4Shape, tiny: boolean): SyntheticCheckpoint {
    const tensors: SyntheticTensor[] = [tensor("model.embed_tokens.weight", s.vocab, s.hidden)];
    for (let i = 0; i < s.layers; i++) {
        const p = `model.layers.${i}.`;
        tensors.push(
            tensor(`${p}input_layernorm.weight`, s.hidden),
            tensor(`${p}self_attn.q_proj.weight`, s.heads * s.headDim, s.hidden),
            tensor(`${p}self_attn.q_proj.bias`, s.heads * s.headDim),
            tensor(`${p}self_attn.k_proj.weight`, s.kvHeads * s.headDim, s.hidden),
            tensor(`${p}self_attn.k_proj.bias`, s.kvHeads * s.headDim),
            tensor(`${p}self_attn.v_proj.weight`, s.kvHeads * s.headDim, s.hidden),
            tensor(`${p}self_attn.v_proj.bias`, s.kvHeads * s.headDim),
            tensor(`${p}self_attn.o_proj.weight`, s.hidden, s.heads * s.headDim),
            tensor(`${p}post_self_attn_layernorm.weight`, s.hidden),
            tensor(`${p}post_attention_layernorm.weight`, s.hidden),
            tensor(`${p}mlp.gate_up_proj.weight`, 2 * s.ffn, s.hidden),
            tensor(`${p}mlp.down_proj.weight`, s.hidden, s.ffn),
            tensor(`${p}post_mlp_layernorm.weight`, s.hidden),
        );
    }
    tensors.push(tensor("model.norm.weight", s.hidden), tensor("lm_head.weight", s.vocab, s.hidden));
    const tokenizer = glmVocabLayout(s.vocab, tiny || s.vocab < 151552, GLM_SPECIALS, false);
    const id = (t: string) => tokenizer.specialBase + GLM_SPECIALS.findIndex(([c]) => c === t);
    const eos = [id("<|endoftext|>"), id("<|user|>"), id("<|observation|>")];
    const config = {
        architectures: ["Glm4ForCausalLM"],
        model_type: "glm4",
        vocab_size: s.vocab,
        hidden_size: s.hidden,
        intermediate_size: s.ffn,
        num_hidden_layers: s.layers,
        num_attention_heads: s.heads,
        num_key_value_heads: s.kvHeads,
        head_dim: s.headDim,
        hidden_act: "silu",
        attention_bias: true,
        attention_dropout: 0.0,
        max_position_embeddings: s.context,
        rms_norm_eps: 1e-5,
        partial_rotary_factor: 0.5,
        rope_theta: 10000.0,
        pad_token_id: id("<|endoftext|>"),
        eos_token_id: eos,
        tie_word_embeddings: false,
        use_cache: true,
        torch_dtype: "bfloat16",
        transformers_version: "4.51.3",
    };
    return {
        config,
        tensors,
        tokenizer,
        modelMaxLength: s.context,
        chatTemplate: GLM4V_CHAT_TEMPLATE,
        chatTemplateFile: false,
        generationConfig: { _from_model_config: true, eos_token_id: eos, pad_token_id: id("<|endoftext|>") },
    };
}
