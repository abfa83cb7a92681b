// Flags every model-running command shares, and opening a runtime over them with a spinner, one
// status line (model, backend, devices, load time, memory) and the sampling settings in effect.

import { type Command, Option } from "commander";
import { defaultAsrModel, defaultModel, DEFAULT_ASR_NOTE, DEFAULT_MODEL_NOTE } from "../../models/default-model.js";
import { contextSettings, type ContextSettings } from "../engine/context.js";
import { readMmproj, type EncoderCaps } from "../engine/encoders.js";
import { checkGguf, type GpuChoice, type GpuLayers, type LoadedModel } from "../engine/model.js";
import { Runtime, type RuntimeOptions } from "../engine/runtime.js";
import type { SamplingOptions } from "../engine/native.js";
import { samplingLines } from "../engine/sampling-defaults.js";
import { UserError } from "../core/errors.js";
import { formatBytes, formatDuration } from "./format.js";
import { gpuLayersOption, numberOption } from "./parse.js";
import { modelsFolder, resolveMmprojName, resolveModel } from "./models-folder.js";
import { withInterrupt } from "./interrupt.js";
import { colorEnabled } from "./terminal-text.js";

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

export function addModelOptions(cmd: Command): Command {
    return cmd
        .option(
            "-m, --model <file>",
            `GGUF model, or the name of one in ${modelsFolder()} (autoglm models lists them, autoglm pull adds them; default: the built-in random-weight demo model)`,
        )
        .addOption(new Option("--gpu <backend>", "compute backend").choices(["auto", "cuda", "vulkan", "metal", "cpu"]).default("auto"))
        .option(
            "--gpu-layers <n>",
            "layers to offload to the GPU: a number (more than the model has means all), max or all, auto (default: as many as fit)",
            gpuLayersOption("--gpu-layers"),
        )
        .option("-t, --threads <n>", "CPU threads (default: one per core)", numberOption("--threads", { integer: true, positive: true }))
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
    if (f.model) return resolveModel(f.model).path;
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

/** Opens a runtime over the flags' model (with a spinner on a terminal) and logs its status line. */
export async function openRuntime(
    f: ModelFlags,
    o: Omit<RuntimeOptions, "model" | "load" | "context">,
    log: (line: string) => void,
    given: Partial<SamplingOptions> = {},
    samplingTitle?: string | null,
): Promise<Runtime> {
    const settings = settingsFrom(f);
    const path = await modelPath(f, log);
    const { default: ora } = await import("ora"); // loaded when a model is, so --help stays light
    const spinner = ora({
        text: `loading ${path}`,
        stream: process.stderr,
        isEnabled: Boolean(process.stderr.isTTY),
        isSilent: !process.stderr.isTTY,
        color: colorEnabled() ? "cyan" : false, // NO_COLOR (ora's chalk does not read it)
        // The terminal stays cooked, so Ctrl-C is a SIGINT even while a load blocks the event loop
        // (ora's stdin discarder reads it as a key, which a blocked loop reads only after the load).
        discardStdin: false,
    }).start();
    try {
        // Ctrl-C during the load stops it: exit 130 with one line, no chat or benchmark after it.
        const runtime = await withInterrupt((signal) =>
            Runtime.open({ ...o, model: path, load: { gpu: f.gpu, gpuLayers: f.gpuLayers, signal }, context: settings }),
        );
        spinner.stop();
        log(await statusLine(runtime.loaded));
        if (samplingTitle !== null) for (const line of samplingLines(runtime.samplingDefaults, given, samplingTitle)) log(line);
        return runtime;
    } catch (e) {
        spinner.stop();
        throw e;
    }
}

/**
 * The encoder --mmproj names (a file, or a name in the models folder), else the one recorded with
 * --model's model in the models folder (autoglm pull), else none.
 */
export function givenMmproj(f: { model?: string; mmproj?: string }): string | undefined {
    if (f.mmproj) return resolveMmprojName(f.mmproj);
    return f.model ? resolveModel(f.model).mmproj : undefined;
}

/** The encoder givenMmproj finds (the demo model's vision encoder without --model), checked from its header. */
export async function encoderFromFlags(
    f: ModelFlags & { mmproj?: string },
    what = "encoder",
): Promise<{ mmproj?: string; encoderCaps?: EncoderCaps }> {
    let mmproj = givenMmproj(f);
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
    const model = f.asrModel ? resolveModel(f.asrModel) : undefined;
    const mmproj = f.asrMmproj ? resolveMmprojName(f.asrMmproj) : model?.mmproj;
    if (!model || !mmproj)
        throw new UserError(
            "give both --asr-model and --asr-mmproj (the speech model and its audio encoder), or --asr-model NAME of a pulled speech model (autoglm pull zai-org/GLM-ASR-Nano-2512)",
        );
    await readMmproj(mmproj, "audio encoder");
    await checkGguf(model.path);
    return { model: model.path, mmproj };
}
