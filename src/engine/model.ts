// Loading: node-llama-cpp picks the backend binary (CPU, CUDA, Vulkan, Metal) and loads the GGUF
// once; the native addon then builds contexts over that same llama_model.

import { existsSync, statSync } from "node:fs";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import { readGguf } from "../core/gguf/reader.js";
import { validateTextModel } from "../core/gguf/validate.js";
import { UserError } from "../core/errors.js";
import { nativeAddon, type NativeAddon } from "./native.js";

export type GpuChoice = "auto" | "cuda" | "vulkan" | "metal" | "cpu";

export interface LoadOptions {
    gpu?: GpuChoice;
    /** Layers to offload; undefined: node-llama-cpp's fit-to-VRAM default. */
    gpuLayers?: number;
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
    /** The model's embedding length (an mmproj's projection must match it). */
    embedding: number;
    dispose(): Promise<void>;
}

/**
 * Checks that `path` is a GGUF language model whose hyper-parameters, tokenizer and tensor shapes
 * llama.cpp can load (src/core/gguf/validate.ts), before llama.cpp sees it: clear errors, no crash.
 */
export async function checkGguf(path: string): Promise<{ architecture: string; vocabSize: number; embedding: number }> {
    if (!existsSync(path)) throw new UserError(`model file not found: ${path}`);
    if (!statSync(path).isFile()) throw new UserError(`${path} is not a file`);
    const g = await readGguf(path);
    if (g.metadata.value("general.architecture") === "clip") throw new UserError(`${path} is an mmproj (vision/audio encoder) file, not a language model; pass it with --mmproj`);
    if (!Array.isArray(g.metadata.value("tokenizer.ggml.tokens"))) throw new UserError(`${path} has no tokenizer (tokenizer.ggml.tokens): not a model autoglm can chat with`);
    const facts = validateTextModel(g, path);
    return { architecture: facts.architecture, vocabSize: facts.vocabulary, embedding: facts.embedding };
}

export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
    const { architecture, vocabSize, embedding } = await checkGguf(path);
    const started = performance.now();
    const gpu = opts.gpu ?? "auto";
    // Never a source build at run time: a backend this machine cannot run is a one-line error, and so
    // is node-llama-cpp handing back another backend than the one asked for.
    let llama: Llama | undefined;
    try {
        llama = await getLlama({ gpu: gpu === "cpu" ? false : gpu, build: "never", logLevel: LlamaLogLevel.error });
    } catch (e) {
        if (gpu === "auto" || gpu === "cpu") throw e;
    }
    if (!llama || (gpu !== "auto" && gpu !== "cpu" && llama.gpu !== gpu)) {
        const need = { auto: "", cpu: "", cuda: "an NVIDIA GPU with its driver (libcuda)", vulkan: "a Vulkan driver (a GPU's, or Debian's mesa-vulkan-drivers with GGML_VK_VISIBLE_DEVICES=0 for the CPU)", metal: "macOS on Apple silicon" }[gpu];
        throw new UserError(`--gpu ${gpu}: this machine cannot run node-llama-cpp's ${gpu} backend (it needs ${need}); use --gpu auto or --gpu cpu`);
    }
    let model: LlamaModel;
    try {
        model = await llama.loadModel({ modelPath: path, gpuLayers: opts.gpuLayers });
    } catch (e) {
        throw new UserError(`llama.cpp could not load ${path}: ${(e as Error).message}`);
    }
    const addon = nativeAddon();
    const devices = llama.gpu ? await llama.getGpuDeviceNames().catch(() => [] as string[]) : [];
    return {
        path, llama, model, addon, architecture, vocabSize, embedding, devices,
        loadMs: performance.now() - started,
        // A GPU backend that offloaded nothing is a CPU run, and is called one.
        backend: llama.gpu && model.gpuLayers > 0 ? llama.gpu : "cpu",
        gpuLayers: llama.gpu ? model.gpuLayers : 0,
        totalLayers: model.fileInsights.totalLayers,
        async dispose() { await model.dispose(); },
    };
}

/** node-llama-cpp's internal model object, which the native addon unwraps to reach llama_model*. */
export function internalModelHandle(model: LlamaModel): unknown {
    const handle = (model as unknown as { _model?: unknown })._model;
    if (!handle) throw new Error("node-llama-cpp's model object has no _model: the pinned version changed");
    return handle;
}
