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

export async function defaultModel(): Promise<DefaultModel> {
    const dir = join(process.env.AUTOGLM_CACHE ?? join(homedir(), ".cache", "autoglm"), "demo-model-v2");
    const text = join(dir, "gguf", "autoglm-demo-random-Q8_0.gguf");
    const vision = join(dir, "gguf", "mmproj-autoglm-demo-random-vision-F16.gguf");
    if (!existsSync(text) || !existsSync(vision)) {
        const hf = join(dir, "autoglm-demo-random");
        await generateCheckpoint(hf, { arch: "glm4v", shape: "tiny", seed: 0 });
        await convertModel({ dir: hf, outDir: join(dir, "gguf"), force: true, types: { text: GgmlType.Q8_0, mmproj: GgmlType.F16 } });
    }
    return { text, vision };
}
