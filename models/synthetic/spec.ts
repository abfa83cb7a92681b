// What a synthetic checkpoint is made of, independent of the architecture.

import type { TokenizerLayout } from "./tokenizer-files.js";

/** How a tensor's values are drawn: "weight" ~ U(+-sqrt(3/fan_in)), "norm" ~ 1 + U(+-0.1), "bias" ~ U(+-0.02). */
export type Init = "weight" | "norm" | "bias";

export interface SyntheticTensor {
    name: string;
    shape: number[];
    init: Init;
}

export interface SyntheticCheckpoint {
    config: Record<string, unknown>;
    tensors: SyntheticTensor[];
    tokenizer: TokenizerLayout;
    modelMaxLength: number;
    chatTemplate: string;
    /** Where the chat template goes: its own chat_template.jinja (newer) or tokenizer_config.json (older). */
    chatTemplateFile: boolean;
    generationConfig: Record<string, unknown>;
    preprocessorConfig?: Record<string, unknown>;
}

/** The init for a tensor, from its (HF) name and rank. */
export function initFor(name: string, shape: number[]): Init {
    if (name.endsWith(".bias")) return "bias";
    if (shape.length === 1 && /norm|ln/i.test(name)) return "norm";
    if (shape.length === 1) return "bias";
    return "weight";
}

export function tensor(name: string, ...shape: number[]): SyntheticTensor {
    return { name, shape, init: initFor(name, shape) };
}

/** Special tokens sit right after the BPE tokens in tiny vocabularies, and at GLM's ids in full ones. */
export function glmVocabLayout(
    vocabSize: number,
    tiny: boolean,
    specials: [string, boolean][],
    mergesAsPairs: boolean,
    merges = 300,
): TokenizerLayout {
    // Tiny: 256 bytes + merges, then the specials, then a few unused ids (exercises [PAD] filling).
    const specialBase = tiny ? 256 + merges : vocabSize - 223;
    return { vocabSize, specialBase, specials, merges, mergesAsPairs };
}
