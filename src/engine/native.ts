// Loads the native addon build that matches the node-llama-cpp backend variant in this process.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname } from "node:path";
import { UserError } from "../core/errors.js";
import { fromRoot } from "../core/package-root.js";
import { threadBudget } from "../core/threads.js";
import { mediaLogWarnings, onLibraryLogs } from "./library-log.js";

/** A finished job (native/src/contract.cpp writes it). */
export interface GenerateResult {
    tokens: Int32Array;
    reason: "eog" | "stop" | "length" | "aborted" | "prompt";
    promptMs: number;
    decodeMs: number;
    ttftMs: number;
    /** The encoder's forward passes for the prompt's media, on the encoder thread. */
    encodeMs: number;
    /** Generated tokens evaluated into the KV cache (all but the last one, which was only sampled). */
    decodedTokens: number;
    /** False when an abort or error stopped the prompt midway (the cache is then partial). */
    promptComplete: boolean;
    /** Position after what the KV cache holds for the job (media advance it by their M-RoPE span). */
    nextPos: number;
    /** KV cells the prompt evaluated: text tokens plus media embeddings. */
    promptTokens: number;
    /** Scheduler steps that carried part of the prompt, and those that also decoded other jobs' tokens. */
    promptSteps: number;
    sharedSteps: number;
    /** The thread budget's grants to the steps this job was in (native/src/thread-budget.h); 0 when none ran. */
    minThreads: number;
    maxThreads: number;
    /** Threads of the last encoder pass for the prompt's media; 0 without media. */
    encodeThreads: number;
}

/** A failed job's error: `kind` says whose fault it is (an unsatisfiable grammar is the request's). */
export interface NativeJobError extends Error {
    kind: "user" | "internal";
}

export interface SamplingOptions {
    temperature?: number;
    topK?: number;
    topP?: number;
    minP?: number;
    repeatPenalty?: number;
    frequencyPenalty?: number;
    presencePenalty?: number;
    penaltyLastN?: number;
    seed?: number;
    grammar?: string;
    /** [token, bias] pairs added to the logits before the rest of the chain; -Infinity bans the token. */
    logitBias?: ReadonlyArray<readonly [number, number]>;
}

/** A kept token's probabilities (before the sampler chain: the softmax of the model's logits), pieces as bytes. */
export interface NativeTokenProbs {
    logprob: number;
    piece: Uint8Array;
    top: { token: number; logprob: number; piece: Uint8Array }[];
}

export interface NativeContextOptions {
    contextSize: number;
    batchSize?: number;
    ubatchSize?: number;
    sequences?: number;
    threads?: number;
    threadsBatch?: number;
    flashAttention?: "auto" | "on" | "off";
    typeK?: string;
    typeV?: string;
}

export type MediaItem = { id?: string; width: number; height: number; rgb: Uint8Array } | { id?: string; samples: Float32Array };

/** A media chunk libmtmd tokenized: its content id, KV cells (embeddings), positions it spans, and the native handle. */
export interface MediaChunk {
    type: "image" | "audio";
    id: string;
    tokens: number;
    positions: number;
    chunk: unknown;
}

export type PromptChunk = { type: "text"; tokens: Int32Array } | MediaChunk;

export interface NativeMedia {
    info(): { vision: boolean; audio: boolean; audioSampleRate: number; marker: string; mrope: boolean };
    /** Splits text with one marker per item into text tokens and media chunks (preprocessing, not encoding). */
    tokenize(text: string, items: MediaItem[]): PromptChunk[];
    dispose(): void;
}

/** One job: evaluate `prompt` into sequence `seq` from `startPos` (later positions are dropped first), then generate. */
export interface GenerateRequest {
    seq: number;
    /** The sequence starts as a copy of this one's cells below startPos (another answer to the same prompt). */
    copyFrom?: number;
    startPos: number;
    prompt: Array<Int32Array | unknown>;
    maxTokens: number;
    /**
     * Never end before maxTokens: every token that would end the answer is banned (a -inf logit
     * bias), llama.cpp's end-of-generation set as llama-server's ignore_eos, and the stopTokens.
     */
    ignoreEog?: boolean;
    stopTokens?: Int32Array;
    sampling?: SamplingOptions;
    /** The prompt's text tokens, cached prefix included, for the repeat penalties (llama.cpp accepts them too). */
    penaltyHistory?: Int32Array;
    /** Each kept token's log-probability and this many alternatives (0..20), passed to onToken. */
    logprobs?: number;
}

export interface NativeContext {
    contextSize(): number;
    /** KV cells one sequence holds (the context is split evenly between its sequences). */
    sequenceSize(): number;
    /**
     * Queues a job on the context's scheduler, the one decode loop: jobs of all sequences share its
     * steps. `cancel(id)` ends it at the next step; maxTokens 0 evaluates the prompt only.
     */
    submit(
        req: GenerateRequest,
        onToken?: (token: number, probs?: NativeTokenProbs) => void,
    ): { id: number; done: Promise<GenerateResult> };
    cancel(id: number): void;
    /** Tokens the job has sampled so far (0 once it is over). */
    produced(id: number): number;
    /** Writes the sequence's KV cache (positions < `positions`) and its tokens; the context must be idle. */
    saveSequence(seq: number, path: string, tokens: Int32Array, positions: number): number;
    loadSequence(seq: number, path: string, capacity: number): Int32Array;
    dispose(): void;
}

/** new NativeMedia(model, mmprojPath, options): each field's type is checked natively (a wrong one is a TypeError naming it). */
export interface NativeMediaOptions {
    /** The most threads an encoder pass asks the thread budget for. */
    threads?: number;
    useGpu?: boolean;
    flashAttention?: "auto" | "on" | "off";
    maxImageTokens?: number;
}

export interface NativeAddon {
    NativeContext: new (nodeLlamaCppModel: unknown, options: NativeContextOptions) => NativeContext;
    NativeMedia: new (nodeLlamaCppModel: unknown, mmprojPath: string, options: NativeMediaOptions) => NativeMedia;
    /** Whether libmtmd's warnings and errors reach stderr, for every encoder in the process (library-log.ts sets it). */
    setMediaLogWarnings(on: boolean): void;
    /** The threads the process's native consumers share (src/core/threads.ts sets it). */
    setThreadBudget(total: number): void;
    /** The native budget's total, and the most threads its consumers held at once since the last call. */
    threadBudget(): { total: number; peak: number };
}

const BUILD_DIR = `${fromRoot("native", "build")}/`;

const PLATFORM_NAME: Record<string, string> = { darwin: "mac", win32: "win" };

/**
 * The node-llama-cpp package whose libllama this process runs; Linux only. `gpu` is node-llama-cpp's
 * `llama.gpu`: after `--gpu auto` fell back from a GPU build with no device, both builds are mapped.
 */
export function loadedVariant(gpu?: string | false): string | undefined {
    if (process.platform !== "linux") return undefined;
    const maps = readFileSync("/proc/self/maps", "utf8");
    // .../@node-llama-cpp/<package>/bins/<dir>/libllama*.so: builds are named after the package.
    const variants = [
        ...new Set(
            maps
                .split("\n")
                .map((l) => l.split(/\s+/).pop() ?? "")
                .filter((p) => /\/libllama[^/]*\.so$/.test(p) && !p.includes("common"))
                .map((p) => basename(dirname(dirname(dirname(p))))),
        ),
    ];
    if (gpu === undefined || variants.length < 2) return variants[0];
    const backend = (v: string) => v.split("-")[2] ?? false; // linux-x64, linux-x64-vulkan, linux-x64-cuda-ext
    return variants.find((v) => backend(v) === gpu) ?? variants[0];
}

let addon: NativeAddon | undefined;

/** Call after node-llama-cpp has loaded its backend (getLlama), so the matching build is chosen. */
export function nativeAddon(gpu?: string | false): NativeAddon {
    if (addon) return addon;
    // Elsewhere: the first build for this platform (mac-arm64-metal, for one).
    const prefix = `${PLATFORM_NAME[process.platform] ?? process.platform}-${process.arch}`;
    const variant =
        loadedVariant(gpu) ??
        (existsSync(BUILD_DIR)
            ? readdirSync(BUILD_DIR).find((d) => d.startsWith(prefix) && existsSync(`${BUILD_DIR}${d}/autoglm.node`))
            : undefined) ??
        prefix;
    const path = `${BUILD_DIR}${variant}/autoglm.node`;
    if (!existsSync(path)) {
        throw new UserError(`autoglm's native addon for the ${variant} backend is not built (${path}); run: npm run build:native`);
    }
    const loaded = createRequire(import.meta.url)(path) as NativeAddon;
    // The process-wide settings the addon holds follow their owners from now on.
    onLibraryLogs((m) => loaded.setMediaLogWarnings(mediaLogWarnings(m)));
    threadBudget.onNativeChange((n) => loaded.setThreadBudget(n));
    addon = loaded;
    return addon;
}
