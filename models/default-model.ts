// The model commands use when no --model is given: a tiny random-weight checkpoint in the
// AutoGLM-Phone-9B (GLM-4.1V) layout, written and converted by autoglm itself, deterministically,
// into the cache. It proves the pipeline without any download; its text is noise.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { GgmlType } from "../convert/gguf/constants.js";
import { convertModel } from "../convert/convert-model.js";
import { generateCheckpoint } from "./synthetic/generate.js";

export const DEFAULT_MODEL_NOTE = "no --model given: using autoglm's built-in random-weight demo model (tiny GLM-4.1V layout); its answers are noise";

export interface DefaultModel { text: string; vision: string }

export const DEFAULT_ASR_NOTE = "no --asr-model given: using autoglm's built-in random-weight speech demo model (tiny GLM-ASR layout); its transcripts are noise";

function cacheDir(name: string): string {
    return join(process.env.AUTOGLM_CACHE ?? join(homedir(), ".cache", "autoglm"), name);
}

/** A tiny random-weight GLM-ASR (GlmasrModel) pair: llama text GGUF + glma audio mmproj. */
export async function defaultAsrModel(): Promise<{ text: string; audio: string }> {
    const dir = cacheDir("demo-asr-v1");
    const text = join(dir, "gguf", "autoglm-demo-asr-random-Q8_0.gguf");
    const audio = join(dir, "gguf", "mmproj-autoglm-demo-asr-random-audio-F16.gguf");
    if (!existsSync(text) || !existsSync(audio)) {
        const hf = join(dir, "autoglm-demo-asr-random");
        await generateCheckpoint(hf, { arch: "glmasr", shape: "tiny", seed: 0 });
        await convertModel({ dir: hf, outDir: join(dir, "gguf"), force: true, types: { text: GgmlType.Q8_0, mmproj: GgmlType.F16 } });
    }
    return { text, audio };
}

export async function defaultModel(): Promise<DefaultModel> {
    const dir = cacheDir("demo-model-v2");
    const text = join(dir, "gguf", "autoglm-demo-random-Q8_0.gguf");
    const vision = join(dir, "gguf", "mmproj-autoglm-demo-random-vision-F16.gguf");
    if (!existsSync(text) || !existsSync(vision)) {
        const hf = join(dir, "autoglm-demo-random");
        await generateCheckpoint(hf, { arch: "glm4v", shape: "tiny", seed: 0 });
        await convertModel({ dir: hf, outDir: join(dir, "gguf"), force: true, types: { text: GgmlType.Q8_0, mmproj: GgmlType.F16 } });
    }
    return { text, vision };
}
