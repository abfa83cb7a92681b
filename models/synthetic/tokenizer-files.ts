// tokenizer.json / tokenizer_config.json / chat template for synthetic GLM checkpoints: a real
// byte-level BPE (trained on a built-in text) plus the GLM special tokens at GLM's relative ids.

import { CORPUS, GLM4_PRETOKENIZER_PATTERN, trainBpe } from "./bpe.js";

/** GLM special tokens in id order from the first one (<|endoftext|>), with their `special` flag. */
export const GLM_SPECIALS: [string, boolean][] = [
    ["<|endoftext|>", true],
    ["[MASK]", true],
    ["[gMASK]", true],
    ["[sMASK]", true],
    ["<sop>", true],
    ["<eop>", true],
    ["<|system|>", true],
    ["<|user|>", true],
    ["<|assistant|>", true],
    ["<|observation|>", true],
    ["<|begin_of_image|>", true],
    ["<|end_of_image|>", true],
    ["<|begin_of_video|>", true],
    ["<|end_of_video|>", true],
    ["<|image|>", true],
    ["<|video|>", true],
    ["<think>", false],
    ["</think>", false],
    ["<answer>", false],
    ["</answer>", false],
    ["<|begin_of_box|>", true],
    ["<|end_of_box|>", true],
    ["<|sep|>", true],
];

/** GLM-ASR's specials: the same first ten, then its audio markers. */
export const GLMASR_SPECIALS: [string, boolean][] = [
    ...GLM_SPECIALS.slice(0, 14),
    ["<|pad|>", true],
    ["<|begin_of_audio|>", true],
    ["<|end_of_audio|>", true],
];

export interface TokenizerLayout {
    /** config.json vocab_size (embedding rows); ids between the BPE and the specials stay unused. */
    vocabSize: number;
    /** Id of the first special token. */
    specialBase: number;
    specials: [string, boolean][];
    merges: number;
    /** Newer tokenizers write merges as pairs, older ones as "a b" strings. */
    mergesAsPairs: boolean;
}

export function tokenizerJson(layout: TokenizerLayout): Record<string, unknown> {
    const bpe = trainBpe(CORPUS, layout.merges);
    if (bpe.tokens.length > layout.specialBase)
        throw new Error(`BPE has ${bpe.tokens.length} tokens, more than the special base ${layout.specialBase}`);
    if (layout.specialBase + layout.specials.length > layout.vocabSize) throw new Error("special tokens do not fit in vocab_size");
    const vocab: Record<string, number> = {};
    bpe.tokens.forEach((t, i) => {
        vocab[t] = i;
    });
    const added = layout.specials.map(([content, special], i) => ({
        id: layout.specialBase + i,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special,
    }));
    return {
        version: "1.0",
        truncation: null,
        padding: null,
        added_tokens: added,
        normalizer: null,
        pre_tokenizer: {
            type: "Sequence",
            pretokenizers: [
                { type: "Split", pattern: { Regex: GLM4_PRETOKENIZER_PATTERN }, behavior: "Isolated", invert: false },
                { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
            ],
        },
        post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: {
            type: "BPE",
            dropout: null,
            unk_token: null,
            continuing_subword_prefix: null,
            end_of_word_suffix: null,
            fuse_unk: false,
            byte_fallback: false,
            ignore_merges: false,
            vocab,
            merges: layout.mergesAsPairs ? bpe.merges : bpe.merges.map(([a, b]) => `${a} ${b}`),
        },
    };
}

/** The GLM-4.1V chat layout: [gMASK]<sop><|system|>\n..<|user|>\n..<|assistant|>\n, images as
 * <|begin_of_image|><|image|><|end_of_image|>, and an empty think block when thinking is off. */
export const GLM4V_CHAT_TEMPLATE = [
    // No whitespace control ({%- ... -%}) anywhere: the only whitespace is the intended "\n" after each role tag.
    "[gMASK]<sop>",
    "{% for msg in messages %}",
    "{% if msg.role == 'system' %}<|system|>\n{{ msg.content }}",
    "{% elif msg.role == 'user' %}<|user|>\n",
    "{% if msg.content is string %}{{ msg.content }}",
    "{% else %}{% for item in msg.content %}",
    "{% if item.type == 'image' or item.type == 'image_url' %}<|begin_of_image|><|image|><|end_of_image|>",
    "{% elif item.type == 'text' %}{{ item.text }}{% endif %}",
    "{% endfor %}{% endif %}",
    "{% elif msg.role == 'assistant' %}<|assistant|>\n{{ msg.content }}",
    "{% elif msg.role == 'observation' or msg.role == 'tool' %}<|observation|>\n{{ msg.content }}",
    "{% endif %}",
    "{% endfor %}",
    "{% if add_generation_prompt %}<|assistant|>\n{% if enable_thinking is defined and not enable_thinking %}<think></think>\n{% endif %}{% endif %}",
].join("");

/** GLM-ASR's (GLM-Edge style) template: the same turn markers without the [gMASK]<sop> prefix. */
export const GLMASR_CHAT_TEMPLATE = [
    "{% for msg in messages %}",
    "{% if msg.role == 'system' %}<|system|>\n{{ msg.content }}",
    "{% elif msg.role == 'user' %}<|user|>\n{{ msg.content }}",
    "{% elif msg.role == 'assistant' %}<|assistant|>\n{{ msg.content }}{% endif %}",
    "{% endfor %}",
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
].join("");

export function tokenizerConfig(layout: TokenizerLayout, modelMaxLength: number, chatTemplate?: string): Record<string, unknown> {
    const decoder: Record<string, unknown> = {};
    layout.specials.forEach(([content, special], i) => {
        decoder[String(layout.specialBase + i)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special };
    });
    return {
        added_tokens_decoder: decoder,
        clean_up_tokenization_spaces: false,
        do_lower_case: false,
        eos_token: "<|endoftext|>",
        pad_token: "<|endoftext|>",
        model_max_length: modelMaxLength,
        padding_side: "left",
        remove_space: false,
        tokenizer_class: "PreTrainedTokenizerFast",
        ...(chatTemplate ? { chat_template: chatTemplate } : {}),
    };
}
