// Loading: node-llama-cpp picks the backend binary (CPU, CUDA, Vulkan, Metal) and loads the GGUF
// once; the native addon then builds contexts over that same llama_model.

import type { Llama, LlamaModel } from "node-llama-cpp";
import type { Metadata } from "../core/gguf/metadata.js";
import { readGguf } from "../core/gguf/reader.js";
import { validateTextModel } from "../core/gguf/validate.js";
import { UserError } from "../core/errors.js";
import { checkGgufPath } from "../core/gguf-path.js";
import { nativeAddon, type NativeAddon } from "./native.js";
import { nodeLlamaCppLogging, withLibraryConsole } from "./library-log.js";

export type GpuChoice = "auto" | "cuda" | "vulkan" | "metal" | "cpu";
/** What each GPU backend needs on the machine (for errors and `autoglm devices`). */
export const BACKEND_NEEDS: Record<"cuda" | "vulkan" | "metal", string> = {
    cuda: "an NVIDIA GPU with its driver (libcuda)",
    vulkan: "a Vulkan driver (a GPU's, or Debian's mesa-vulkan-drivers with GGML_VK_VISIBLE_DEVICES=0 for the CPU)",
    metal: "macOS on Apple silicon",
};

/** A layer count, all of them ("max"), or node-llama-cpp's fit-to-VRAM choice ("auto"). */
export type GpuLayers = number | "max" | "auto";

export interface LoadOptions {
    gpu?: GpuChoice;
    /** Layers to offload; undefined: node-llama-cpp's fit-to-VRAM default. */
    gpuLayers?: GpuLayers;
    /** Aborts the load (Ctrl-C): loadModel then throws the signal's reason after freeing what it made. */
    signal?: AbortSignal;
}

export interface LoadedModel {
    path: string;
    llama: Llama;
    model: LlamaModel;
    addon: NativeAddon;
    /** "cpu", or the GPU backend when layers were offloaded to it. */
    backend: string;
    /** Layers offloaded to the GPU, of the model's total. */
    gpuLayers: number;
    totalLayers: number;
    devices: string[];
    loadMs: number;
    /** The GGUF's general.architecture. */
    architecture: string;
    vocabSize: number;
    /** The GGUF's metadata, as read before loading (general.sampling.*, ...). */
    metadata: Metadata;
    /** The model's embedding length (an mmproj's projection must match it). */
    embedding: number;
    dispose(): Promise<void>;
}

/**
 * Checks that `path` is a GGUF language model whose hyper-parameters, tokenizer and tensor shapes
 * llama.cpp can load (src/core/gguf/validate.ts), before llama.cpp sees it: clear errors, no crash.
 */
export async function checkGguf(path: string): Promise<{ architecture: string; vocabSize: number; embedding: number; metadata: Metadata }> {
    checkGgufPath(path, "model file");
    const g = await readGguf(path);
    if (g.metadata.value("general.architecture") === "clip")
        throw new UserError(`${path} is an mmproj (vision/audio encoder) file, not a language model; pass it with --mmproj`);
    if (!Array.isArray(g.metadata.value("tokenizer.ggml.tokens")))
        throw new UserError(`${path} has no tokenizer (tokenizer.ggml.tokens): not a model autoglm can chat with`);
    const facts = validateTextModel(g, path);
    return { architecture: facts.architecture, vocabSize: facts.vocabulary, embedding: facts.embedding, metadata: g.metadata };
}

/**
 * node-llama-cpp's backend for `gpu`, never built at run time. `auto` never hands back a GPU build
 * that sees no device it will use (Mesa's llvmpipe alone is skipped by ggml's Vulkan backend unless
 * GGML_VK_VISIBLE_DEVICES names it): everything would run on the CPU through the GPU build.
 */
export async function openBackend(gpu: GpuChoice): Promise<Llama> {
    // node-llama-cpp is imported when a model is loaded, not at start-up: --help and --version stay light.
    const { getLlama } = await import("node-llama-cpp");
    // progressLogs off: node-llama-cpp would print its own line about an unusable binary before ours.
    const open = (g: GpuChoice | false) =>
        getLlama({ gpu: g === "cpu" ? false : g, build: "never", progressLogs: false, ...nodeLlamaCppLogging() });
    const llama = await open(gpu);
    if (llama.gpu && gpu === "auto" && (await llama.getGpuDeviceNames().catch(() => [])).length === 0) {
        await llama.dispose();
        return open(false);
    }
    return llama;
}

export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
    const { architecture, vocabSize, embedding, metadata } = await checkGguf(path);
    const started = performance.now();
    const gpu = opts.gpu ?? "auto";
    const signal = opts.signal;
    await testLoadHold(signal);
    signal?.throwIfAborted();
    // Never a source build at run time: a backend this machine cannot run is a one-line error, and so
    // is node-llama-cpp handing back another backend than the one asked for.
    let llama: Llama | undefined;
    try {
        llama = await withLibraryConsole(signal, () => openBackend(gpu));
    } catch (e) {
        signal?.throwIfAborted();
        if (gpu === "auto" || gpu === "cpu") throw e;
    }
    if (!llama || (gpu !== "auto" && gpu !== "cpu" && llama.gpu !== gpu)) {
        throw new UserError(
            `--gpu ${gpu}: this machine cannot run node-llama-cpp's ${gpu} backend (it needs ${BACKEND_NEEDS[gpu as keyof typeof BACKEND_NEEDS]}); use --gpu auto or --gpu cpu`,
        );
    }
    signal?.throwIfAborted();
    let model: LlamaModel;
    try {
        model = await llama.loadModel({ modelPath: path, gpuLayers: opts.gpuLayers, loadSignal: signal });
    } catch (e) {
        signal?.throwIfAborted();
        throw new UserError(`llama.cpp could not load ${path}: ${(e as Error).message}`);
    }
    if (signal?.aborted) {
        await model.dispose();
        signal.throwIfAborted();
    }
    const addon = nativeAddon(llama.gpu);
    const devices = llama.gpu ? await llama.getGpuDeviceNames().catch(() => [] as string[]) : [];
    return {
        path,
        llama,
        model,
        addon,
        architecture,
        vocabSize,
        metadata,
        embedding,
        devices,
        loadMs: performance.now() - started,
        // A GPU backend that offloaded nothing is a CPU run, and is called one.
        backend: llama.gpu && model.gpuLayers > 0 ? llama.gpu : "cpu",
        gpuLayers: llama.gpu ? model.gpuLayers : 0,
        totalLayers: model.fileInsights.totalLayers,
        async dispose() {
            await model.dispose();
        },
    };
}

/**
 * AUTOGLM_TEST_FAULT=hold-load: the load waits here until it is aborted, so the tests can press
 * Ctrl-C while a load is under way without racing a tiny model's one-second load.
 */
async function testLoadHold(signal?: AbortSignal): Promise<void> {
    if (process.env.AUTOGLM_TEST_FAULT !== "hold-load" || !signal) return;
    process.stderr.write("[test fault: the load waits for an interruption]\n");
    // A timer keeps the process alive meanwhile, as a real load's worker thread does.
    const alive = setInterval(() => {}, 1 << 30);
    await new Promise<void>((resolve) =>
        signal.addEventListener(
            "abort",
            () => {
                clearInterval(alive);
                resolve();
            },
            { once: true },
        ),
    );
}

/** node-llama-cpp's internal model object, which the native addon unwraps to reach llama_model*. */
export function internalModelHandle(model: LlamaModel): unknown {
    const handle = (model as unknown as { _model?: unknown })._model;
    if (!handle) throw new Error("node-llama-cpp's model object has no _model: the pinned version changed");
    return handle;
}
