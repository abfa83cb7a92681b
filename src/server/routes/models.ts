// GET /v1/models and /v1/models/:id: the one model served, with max_model_len as vLLM reports it
// (the tokens one request may use, prompt and answer) and autoglm's facts (for `autoglm ps`).

import type { FastifyInstance } from "fastify";
import type { Runtime } from "../../engine/runtime.js";
import type { ServerContext } from "../context.js";
import { ApiError } from "../errors.js";

/** What /v1/models says of a local runtime: parameters, sizes, where it runs, its slots and modalities. */
export function modelMeta(rt: Runtime, parameters: number): Record<string, unknown> {
    const loaded = rt.loaded;
    return {
        n_params: parameters,
        size: loaded.model.size,
        n_ctx_train: loaded.model.trainContextSize,
        n_ctx: rt.slotCells,
        n_vocab: loaded.vocabSize,
        architecture: loaded.architecture,
        // Where it runs, for `autoglm ps`: the file, the backend and the layers it took.
        file: loaded.path,
        backend: loaded.backend,
        devices: loaded.devices,
        gpu_layers: loaded.gpuLayers,
        n_layers: loaded.totalLayers,
        n_slots: rt.pool.slots.length,
        modalities: { text: true, vision: rt.media.sees, audio: rt.media.hears },
        image_max_pixels: rt.media.sees ? rt.media.maxPixels : undefined,
        image_max_tokens: rt.media.sees ? rt.imageMaxTokens : undefined,
    };
}

export function modelsRoutes(app: FastifyInstance, ctx: ServerContext): void {
    const entry = () => {
        const b = ctx.ready();
        return {
            id: ctx.opts.servedName,
            object: "model",
            created: Math.floor(Date.now() / 1000),
            owned_by: "autoglm",
            max_model_len: b.engine.info.contextTokens,
            meta: b.meta,
        };
    };
    app.get("/v1/models", async () => ({ object: "list", data: [entry()] }));
    app.get("/v1/models/:id", async (req) => {
        const { id } = req.params as { id: string };
        if (id !== ctx.opts.servedName)
            throw new ApiError(404, `no model ${id} (this server serves ${ctx.opts.servedName})`, "model_not_found");
        return entry();
    });
}
