// Writes a synthetic Hugging Face checkpoint folder: config.json, generation_config.json,
// safetensors (BF16, sharded past 5 GiB), tokenizer files and, for vision models, the
// preprocessor config. Deterministic: every tensor's values depend only on (seed, tensor name).

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../src/core/errors.js";
import { glm4Checkpoint, GLM4_SHAPES } from "./glm4.js";
import { glm4vCheckpoint, GLM4V_SHAPES } from "./glm4v.js";
import { glmasrCheckpoint, GLMASR_SHAPES } from "./glmasr.js";
import { mulberry32 } from "./random.js";
import { writeSafetensors, type TensorSpec } from "./safetensors-writer.js";
import type { SyntheticCheckpoint, SyntheticTensor } from "./spec.js";
import { tokenizerConfig, tokenizerJson } from "./tokenizer-files.js";

export const SYNTHETIC_ARCHITECTURES = ["glm4v", "glm4", "glmasr"] as const;
export type SyntheticArch = (typeof SYNTHETIC_ARCHITECTURES)[number];
export const SYNTHETIC_SHAPES: Record<SyntheticArch, string[]> = {
    glm4v: Object.keys(GLM4V_SHAPES),
    glm4: Object.keys(GLM4_SHAPES),
    glmasr: Object.keys(GLMASR_SHAPES),
};

export interface SyntheticOptions {
    arch: SyntheticArch;
    shape: string;
    seed: number;
    /** glm4v only: transformers generation of the config/weight-name layout. */
    layout?: "5.x" | "4.5x";
    shardBytes?: number;
    /** Fields merged over the architecture's generation_config.json (the demo model's sampler). */
    generation?: Record<string, unknown>;
}

export function describeCheckpoint(o: SyntheticOptions): SyntheticCheckpoint {
    const tiny = o.shape === "tiny";
    const pick = <T>(table: Record<string, T>): T => {
        const s = table[o.shape];
        if (!s) throw new UserError(`unknown shape ${o.shape} for ${o.arch} (choose: ${Object.keys(table).join(", ")})`);
        return s;
    };
    switch (o.arch) {
        case "glm4v":
            return glm4vCheckpoint(pick(GLM4V_SHAPES), tiny, o.layout ?? "5.x");
        case "glm4":
            return glm4Checkpoint(pick(GLM4_SHAPES), tiny);
        case "glmasr":
            return glmasrCheckpoint(pick(GLMASR_SHAPES), tiny);
        default:
            throw new UserError(`unknown architecture ${o.arch} (choose: ${SYNTHETIC_ARCHITECTURES.join(", ")})`);
    }
}

/** FNV-1a of the name, mixed with the seed: each tensor gets its own stream. The name is taken
 * without layout-specific prefixes, so every layout of a model holds the same weights. */
function tensorSeed(seed: number, name: string): number {
    name = name.replace("language_model.", "").replace(/^model\.visual\./, "visual.");
    let h = 0x811c9dc5 ^ seed;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    return h >>> 0;
}

function bf16Filler(seed: number, t: SyntheticTensor): TensorSpec["fill"] {
    const rand = mulberry32(tensorSeed(seed, t.name));
    const fanIn = t.shape.length > 1 ? t.shape.slice(1).reduce((a, b) => a * b, 1) : t.shape[0];
    const [center, half] = t.init === "weight" ? [0, Math.sqrt(3 / fanIn)] : t.init === "norm" ? [1, 0.1] : [0, 0.02];
    const f32 = new Float32Array(1 << 20);
    const u32 = new Uint32Array(f32.buffer);
    // Values arrive in order, so the stream stays deterministic however the writer chunks them.
    return (_offset, count) => {
        const out = new Uint16Array(count);
        for (let i = 0; i < count; i++) f32[i] = center + (2 * rand() - 1) * half;
        for (let i = 0; i < count; i++) {
            const w = u32[i];
            out[i] = (w + 0x7fff + ((w >>> 16) & 1)) >>> 16;
        }
        return new Uint8Array(out.buffer);
    };
}

export async function generateCheckpoint(dir: string, o: SyntheticOptions): Promise<{ files: string[]; parameters: number }> {
    const ckpt = describeCheckpoint(o);
    await mkdir(dir, { recursive: true });
    const json = (name: string, v: unknown) => writeFile(join(dir, name), `${JSON.stringify(v, null, 2)}\n`);
    await json("config.json", ckpt.config);
    await json("generation_config.json", { ...ckpt.generationConfig, ...o.generation });
    await json("tokenizer.json", tokenizerJson(ckpt.tokenizer));
    await json(
        "tokenizer_config.json",
        tokenizerConfig(ckpt.tokenizer, ckpt.modelMaxLength, ckpt.chatTemplateFile ? undefined : ckpt.chatTemplate),
    );
    const files = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"];
    if (ckpt.chatTemplateFile) {
        await writeFile(join(dir, "chat_template.jinja"), ckpt.chatTemplate);
        files.push("chat_template.jinja");
    }
    if (ckpt.preprocessorConfig) {
        await json("preprocessor_config.json", ckpt.preprocessorConfig);
        files.push("preprocessor_config.json");
    }
    const specs: TensorSpec[] = ckpt.tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: "BF16", fill: bf16Filler(o.seed, t) }));
    files.push(...(await writeSafetensors(dir, specs, o.shardBytes)));
    const parameters = ckpt.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    return { files, parameters };
}
