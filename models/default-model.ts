// The models commands use when none is given: tiny random-weight checkpoints in the AutoGLM-Phone-9B
// (GLM-4.1V) and GLM-ASR layouts, written and converted by autoglm itself, deterministically, into
// the cache. They prove the pipeline without any download; their text is noise.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { GgmlType } from "../src/core/gguf/constants.js";
import { convertModel } from "../convert/convert-model.js";
import { generateCheckpoint, type SyntheticArch } from "./synthetic/generate.js";

export const DEFAULT_MODEL_NOTE =
    "no --model given: using autoglm's built-in random-weight demo model (tiny GLM-4.1V layout); its answers are noise (the real model: autoglm pull zai-org/AutoGLM-Phone-9B)";
export const DEFAULT_ASR_NOTE =
    "no --asr-model given: using autoglm's built-in random-weight speech demo model (tiny GLM-ASR layout); its transcripts are noise";

/**
 * The demo model's recommended sampler, in its generation_config.json as a real checkpoint has it:
 * the GLM-4.1V family's temperature 0.8, top_k 2, top_p 0.6, and a repetition penalty of 1.1. The
 * converter writes them as general.sampling.*, so the demo samples as the real model would.
 */
const PHONE_GENERATION = { do_sample: true, temperature: 0.8, top_k: 2, top_p: 0.6, repetition_penalty: 1.1 };

/** Builds (once) a converted demo pair: the Q8_0 text GGUF and its F16 mmproj of `role`. */
async function demoPair(
    folder: string,
    name: string,
    arch: SyntheticArch,
    role: "vision" | "audio",
    generation?: Record<string, unknown>,
): Promise<{ text: string; mmproj: string }> {
    const dir = join(process.env.AUTOGLM_CACHE ?? join(homedir(), ".cache", "autoglm"), folder);
    const text = join(dir, "gguf", `${name}-Q8_0.gguf`);
    const mmproj = join(dir, "gguf", `mmproj-${name}-${role}-F16.gguf`);
    if (!existsSync(text) || !existsSync(mmproj)) {
        const hf = join(dir, name);
        await generateCheckpoint(hf, { arch, shape: "tiny", seed: 0, generation });
        await convertModel({ dir: hf, outDir: join(dir, "gguf"), force: true, types: { text: "q8_0", mmproj: GgmlType.F16 } });
    }
    return { text, mmproj };
}

export async function defaultModel(): Promise<{ text: string; vision: string }> {
    const { text, mmproj } = await demoPair("demo-model-v4", "autoglm-demo-random", "glm4v", "vision", PHONE_GENERATION);
    return { text, vision: mmproj };
}

/** A tiny random-weight GLM-ASR (GlmasrModel) pair: llama text GGUF + glma audio mmproj. */
export async function defaultAsrModel(): Promise<{ text: string; audio: string }> {
    const { text, mmproj } = await demoPair("demo-asr-v2", "autoglm-demo-asr-random", "glmasr", "audio");
    return { text, audio: mmproj };
}
