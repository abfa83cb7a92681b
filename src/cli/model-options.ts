// Flags every model-running command shares (the model and its context; the media flags, declared
// here once for every command that takes them), what they name, and the status line once loaded.

import { type Command, Option } from "commander";
import { defaultAsrModel, defaultModel, DEFAULT_ASR_NOTE, DEFAULT_MODEL_NOTE } from "../../models/default-model.js";
import { contextSettings, type ContextSettings } from "../engine/context.js";
import { readMmproj, type EncoderCaps } from "../engine/encoders.js";
import { IMAGE_MAX_PIXELS } from "../engine/media-policy.js";
import { checkGguf, type GpuChoice, type GpuLayers, type LoadedModel } from "../engine/model.js";
import { UserError } from "../core/errors.js";
import { formatBytes, formatDuration } from "./format.js";
import { gpuLayersOption, numberOption } from "./parse.js";
import { modelsFolder, resolveModelName } from "./models-folder.js";

export interface ModelFlags {
    model?: string;
    gpu: GpuChoice;
    gpuLayers?: GpuLayers;
    threads?: number;
    ctxSize?: number;
    batchSize?: number;
    flashAttn: "auto" | "on" | "off";
    cacheTypeK: "f16" | "q8_0" | "q4_0";
    cacheTypeV: "f16" | "q8_0" | "q4_0";
}

/** The media flags, as the commands that take them declare them (addMediaOptions). */
export interface MediaFlags {
    mmproj?: string;
    asrModel?: string;
    asrMmproj?: string;
    maxImageTokens?: number;
    imageMaxPixels: number;
    encoderIdleUnload?: number;
}

/**
 * Adds the media flags a command takes: --mmproj (with what it is for in that command), the speech
 * model's pair, the image budget (--image-max-pixels, --max-image-tokens) and --encoder-idle-unload.
 */
export function addMediaOptions(
    cmd: Command,
    take: { mmproj: string; speech?: boolean; imageTokens?: boolean; imagePixels?: boolean; idleUnload?: boolean },
): Command {
    cmd.option("--mmproj <file>", take.mmproj);
    if (take.speech)
        cmd.option(
            "--asr-model <file>",
            "speech model GGUF (GLM-ASR, converted by autoglm convert) for audio when the model cannot hear",
        ).option("--asr-mmproj <file>", "the speech model's audio encoder (mmproj)");
    if (take.imageTokens)
        cmd.option(
            "--max-image-tokens <n>",
            "scale images down to at most this many image tokens",
            numberOption("--max-image-tokens", { integer: true, positive: true }),
        );
    if (take.imagePixels)
        cmd.option(
            "--image-max-pixels <n>",
            `scale larger images down to this many pixels as vLLM's GLM-4.1V processor does (Open-AutoGLM: ${IMAGE_MAX_PIXELS})`,
            numberOption("--image-max-pixels", { integer: true, positive: true }),
            IMAGE_MAX_PIXELS,
        );
    if (take.idleUnload)
        cmd.option(
            "--encoder-idle-unload <seconds>",
            "release encoders and the speech model after this long unused (0: keep)",
            numberOption("--encoder-idle-unload"),
            0,
        );
    return cmd;
}

export function addModelOptions(cmd: Command): Command {
    return cmd
        .option(
            "-m, --model <file>",
            `GGUF model, or the name of one in ${modelsFolder()} (autoglm models lists them; default: the built-in random-weight demo model)`,
        )
        .addOption(new Option("--gpu <backend>", "compute backend").choices(["auto", "cuda", "vulkan", "metal", "cpu"]).default("auto"))
        .option(
            "--gpu-layers <n>",
            "layers to offload to the GPU: a number (more than the model has means all), max or all, auto (default: as many as fit)",
            gpuLayersOption("--gpu-layers"),
        )
        .option(
            "-t, --threads <n>",
            "CPU threads the process computes with, decoding and encoders together (default: one per core)",
            numberOption("--threads", { integer: true, positive: true }),
        )
        .option(
            "-c, --ctx-size <n>",
            "context size in tokens, per slot (default, and 0: the model's trained context, capped by free memory)",
            numberOption("--ctx-size", { integer: true }),
        )
        .option("-b, --batch-size <n>", "prompt batch size (default 512)", numberOption("--batch-size", { integer: true, positive: true }))
        .addOption(new Option("--flash-attn <mode>", "fused flash-attention kernel").choices(["auto", "on", "off"]).default("auto"))
        .addOption(new Option("--cache-type-k <type>", "KV cache type for K").choices(["f16", "q8_0", "q4_0"]).default("f16"))
        .addOption(new Option("--cache-type-v <type>", "KV cache type for V").choices(["f16", "q8_0", "q4_0"]).default("f16"));
}

/** The context settings the flags give, checked; contextSize stays unset without --ctx-size or with 0 (the runtime picks it, as llama.cpp's -c 0 does). */
export function settingsFrom(f: ModelFlags): Partial<ContextSettings> {
    if (f.ctxSize !== undefined && f.ctxSize < 0)
        throw new UserError(`--ctx-size must be a number of tokens (0: the model's trained context), got ${f.ctxSize}`);
    const given = {
        contextSize: f.ctxSize || undefined,
        batchSize: f.batchSize,
        ubatchSize: f.batchSize,
        threads: f.threads,
        flashAttention: f.flashAttn,
        typeK: f.cacheTypeK,
        typeV: f.cacheTypeV,
    };
    contextSettings(given);
    return given;
}

/** The model the flags name, or the built-in demo model (with a note saying so). */
export async function modelPath(f: ModelFlags, log: (line: string) => void): Promise<string> {
    if (f.model) return resolveModelName(f.model);
    log(DEFAULT_MODEL_NOTE);
    return (await defaultModel()).text;
}

/** One line on what was loaded and where: model, architecture, backend, layers per device, load time, memory. */
export async function statusLine(loaded: LoadedModel): Promise<string> {
    const gpu = loaded.llama.gpu;
    const vram = gpu ? await loaded.llama.getVramState() : undefined;
    const on = loaded.devices.length ? `${gpu} (${loaded.devices.join(", ")})` : gpu;
    const rest = loaded.totalLayers - loaded.gpuLayers;
    const layers = gpu
        ? ` | ${loaded.gpuLayers}/${loaded.totalLayers} layers on ${on}${loaded.gpuLayers > 0 && rest > 0 ? `, ${rest} on the CPU` : ""}`
        : "";
    const memory = vram?.used ? ` | VRAM ${formatBytes(vram.used)} used of ${formatBytes(vram.total)}` : "";
    return `model ${loaded.path} | ${loaded.architecture} | backend ${loaded.backend}${layers} | loaded in ${formatDuration(loaded.loadMs)} | RAM ${formatBytes(process.memoryUsage().rss)}${memory}`;
}

/** The encoder --mmproj names (the demo model's vision encoder without --model), checked from its header. */
export async function encoderFromFlags(
    f: ModelFlags & { mmproj?: string },
    what = "encoder",
): Promise<{ mmproj?: string; encoderCaps?: EncoderCaps }> {
    let mmproj = f.mmproj;
    if (!f.model && !mmproj) mmproj = (await defaultModel()).vision;
    return mmproj ? { mmproj, encoderCaps: await readMmproj(mmproj, what) } : {};
}

/** The speech model --asr-model / --asr-mmproj name (both, checked), or the built-in demo pair. */
export async function speechModelFromFlags(
    f: { asrModel?: string; asrMmproj?: string },
    log: (line: string) => void,
): Promise<{ model: string; mmproj: string }> {
    if (!f.asrModel && !f.asrMmproj) {
        log(DEFAULT_ASR_NOTE);
        const demo = await defaultAsrModel();
        return { model: demo.text, mmproj: demo.audio };
    }
    if (!f.asrModel || !f.asrMmproj) throw new UserError("give both --asr-model and --asr-mmproj (the speech model and its audio encoder)");
    await readMmproj(f.asrMmproj, "audio encoder");
    await checkGguf(f.asrModel);
    return { model: f.asrModel, mmproj: f.asrMmproj };
}
