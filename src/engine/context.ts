// Context settings with measured defaults, and creation over a loaded model.

import { InternalError, UserError } from "../core/errors.js";
import { threadBudget } from "../core/threads.js";
import { internalModelHandle, type LoadedModel } from "./model.js";
import type { NativeContext } from "./native.js";

export interface ContextSettings {
    /** KV cells per sequence (per slot). */
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

export function contextSettings(partial: Partial<ContextSettings> = {}): ContextSettings {
    const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<ContextSettings>;
    const budget = threadBudget.forContext(given.threads, given.threadsBatch);
    const s: ContextSettings = {
        contextSize: 4096,
        batchSize: 512,
        ubatchSize: 512,
        sequences: 1,
        flashAttention: "auto",
        typeK: "f16",
        typeV: "f16",
        ...given,
        threads: budget.decode,
        threadsBatch: budget.batch,
    };
    for (const k of ["contextSize", "batchSize", "ubatchSize", "sequences", "threads", "threadsBatch"] as const) {
        if (!Number.isInteger(s[k]) || s[k] <= 0)
            throw new UserError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer, got ${s[k]}`);
    }
    if (s.ubatchSize > s.batchSize) s.ubatchSize = s.batchSize;
    return s;
}

/**
 * What --flash-attn auto means for the text model on `backend` and its `devices`. Off on Mesa's
 * lavapipe (a Vulkan device named llvmpipe): lavapipe 22.3 keeps a destroyed storage buffer bound in
 * its queue's state, and ggml-vulkan's flash attention destroys one when it grows a scratch buffer
 * mid-graph, which crashed the image turn of a continued chat (llama-mtmd-cli too; the report and the
 * reproduction: docs/vulkan-lavapipe-crash.md). Elsewhere llama.cpp's own auto; `on` is kept everywhere.
 */
export function flashAttentionFor(
    backend: string,
    mode: ContextSettings["flashAttention"],
    devices: readonly string[] = [],
): ContextSettings["flashAttention"] {
    return mode === "auto" && backend === "vulkan" && devices.some((d) => /llvmpipe/i.test(d)) ? "off" : mode;
}

/** A context of `settings.sequences` sequences of `settings.contextSize` cells each. */
export function createContext(loaded: LoadedModel, settings: ContextSettings): NativeContext {
    const total = settings.contextSize * settings.sequences;
    try {
        return new loaded.addon.NativeContext(internalModelHandle(loaded.model), { ...settings, contextSize: total });
    } catch (e) {
        if (e instanceof TypeError) throw new InternalError((e as Error).message);
        throw new UserError(`could not create a context of ${total} tokens: ${(e as Error).message}`);
    }
}
