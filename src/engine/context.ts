// Context settings with measured defaults, and creation over a loaded model.

import { coreCount } from "../../convert/quant/pool.js";
import { UserError } from "../core/errors.js";
import { internalModelHandle, type LoadedModel } from "./model.js";
import type { NativeContext } from "./native.js";

export interface ContextSettings {
    contextSize: number;
    batchSize: number;
    ubatchSize: number;
    sequences: number;
    threads: number;
    threadsBatch: number;
    flashAttention: "auto" | "on" | "off";
    typeK: "f16" | "q8_0" | "q4_0";
    typeV: "f16" | "q8_0" | "q4_0";
}

/**
 * One thread per core: with the generation loop native and a persistent ggml threadpool, nothing
 * else competes for the cores while a token is computed (docs/benchmarks.md has the measurement).
 */
export function defaultThreads(): number {
    return coreCount();
}

export function contextSettings(partial: Partial<ContextSettings> = {}): ContextSettings {
    const s: ContextSettings = {
        contextSize: 4096, batchSize: 512, ubatchSize: 512, sequences: 1,
        threads: defaultThreads(), threadsBatch: 0, flashAttention: "auto", typeK: "f16", typeV: "f16",
        ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
    };
    if (!s.threadsBatch) s.threadsBatch = s.threads;
    for (const k of ["contextSize", "batchSize", "ubatchSize", "sequences", "threads", "threadsBatch"] as const) {
        if (!Number.isInteger(s[k]) || s[k] <= 0) throw new UserError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer, got ${s[k]}`);
    }
    if (s.ubatchSize > s.batchSize) s.ubatchSize = s.batchSize;
    return s;
}

export function createContext(loaded: LoadedModel, settings: ContextSettings): NativeContext {
    try {
        return new loaded.addon.NativeContext(internalModelHandle(loaded.model), settings);
    } catch (e) {
        throw new UserError(`could not create a context of ${settings.contextSize} tokens: ${(e as Error).message}`);
    }
}
