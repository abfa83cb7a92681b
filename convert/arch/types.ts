// The one interface every architecture converter implements (one file per architecture).

import type { GgmlType } from "../../src/core/gguf/constants.js";
import type { OutType } from "../out-types.js";
import type { Metadata } from "../../src/core/gguf/metadata.js";
import type { Json } from "../hparams.js";
import type { SafetensorsCheckpoint } from "../safetensors.js";
import type { TokenizerFiles } from "../tokenizer.js";
import type { TensorPlan } from "../write-gguf.js";

/** A Hugging Face checkpoint folder, opened. */
export interface HfModel {
    dir: string;
    /** The folder name: output file names, and the last resort of the general.name heuristics (model-card.ts). */
    name: string;
    config: Json;
    checkpoint: SafetensorsCheckpoint;
    tokenizer: TokenizerFiles;
    /** preprocessor_config.json (image/audio processor settings), when present. */
    preprocessor?: Json;
}

export interface OutputTypes {
    text: OutType;
    /** The mmproj's own type (f16, q8_0 or f32): the text mixtures do not apply to encoders. */
    mmproj: GgmlType;
}

export type OutputRole = "text" | "vision" | "audio";

/** One GGUF file to write; the pipeline picks its path. */
export interface PlannedFile {
    role: OutputRole;
    metadata: Metadata;
    tensors: TensorPlan[];
}

export interface ArchitectureConverter {
    /** HF `architectures[0]` values handled. */
    architectures: string[];
    /** One line for `autoglm convert --help` and error messages. */
    summary: string;
    plan(model: HfModel, types: OutputTypes): Promise<PlannedFile[]>;
}
