// The default context when the user gives none: the model's trained context (n_ctx_train), so the
// phone agent's working set (system prompt + screenshot + history + a 3000-token answer) fits
// without flags, capped by what fits in memory next to the weights. --ctx-size always wins.

import { freemem } from "node:os";
import type { LoadedModel } from "./model.js";

/** Share of the free memory (RAM, or VRAM when layers are offloaded) the KV cache may take. */
const BUDGET = 0.6;
/** Never go below this when halving to fit. */
const FLOOR = 2048;

export interface ContextChoice {
    size: number;
    why: string;
}

export async function defaultContextSize(loaded: LoadedModel, slots: number): Promise<ContextChoice> {
    const trained = loaded.model.trainContextSize || 4096;
    const onGpu = loaded.model.gpuLayers > 0 && loaded.llama.gpu !== false;
    const free = onGpu ? (await loaded.llama.getVramState()).free : freemem();
    const budget = free * BUDGET;
    for (let size = trained; ; size = Math.floor(size / 2)) {
        if (size <= FLOOR)
            return { size: Math.min(trained, FLOOR), why: size < trained ? "capped by free memory" : "the model's trained context" };
        const need = await loaded.model.fileInsights.estimateContextResourceRequirementsV2({
            contextSize: size * slots,
            sequences: slots,
            modelGpuLayers: loaded.model.gpuLayers,
        });
        if ((onGpu ? need.gpuVram : need.cpuRam) <= budget)
            return { size, why: size === trained ? "the model's trained context" : `capped by free memory (trained: ${trained})` };
    }
}
