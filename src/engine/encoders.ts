// Encoders (mmproj files): what one holds, read from its header without loading it, and loading it
// over a model, lazily, released after an idle time.

import { InternalError, ResourceLoadError, UserError } from "../core/errors.js";
import { checkGgufPath } from "../core/gguf-path.js";
import { readGguf } from "../core/gguf/reader.js";
import { validateMmproj } from "../core/gguf/validate.js";
import type { ContextThreads } from "../core/threads.js";
import { LazyResource } from "./lazy-resource.js";
import { MEDIA_MARKER } from "./media-prompt.js";
import { internalModelHandle, type LoadedModel } from "./model.js";
import type { NativeMedia } from "./native.js";

/** What an mmproj's encoders take in, the pixel size of one image token (patch x merge), and the embedding length it projects to. */
export interface EncoderCaps {
    vision: boolean;
    audio: boolean;
    imageTokenPixels: number;
    projectionDim: number;
}

/** Spatial merge of projectors that merge patches into one token (llama.cpp's clip): GLM-4.1V merges 2 x 2. */
const MERGE: Record<string, number> = { glm4v: 2, qwen2vl_merger: 2, qwen25vl_merger: 2, qwen3vl_merger: 2 };

/**
 * Checks that `path` is an mmproj (not a language model) that libmtmd can load (hyper-parameters
 * and tensor shapes, src/core/gguf/validate.ts) and reads from its header which encoders it holds,
 * without loading it: commands know what an encoder can do before its first use.
 */
export async function readMmproj(path: string, what = "encoder"): Promise<EncoderCaps> {
    checkGgufPath(path, "mmproj file");
    const g = await readGguf(path);
    if (g.metadata.value("general.architecture") !== "clip")
        throw new UserError(`${path} is a language model, not an mmproj (${what}) file`);
    const facts = validateMmproj(g, path);
    return {
        vision: facts.vision,
        audio: facts.audio,
        imageTokenPixels: facts.vision ? facts.patchSize * (MERGE[facts.projector] ?? 1) : 0,
        projectionDim: facts.projectionDim,
    };
}

/** An mmproj projects into the model's embedding space: a different width would overrun the embedding buffer. */
export function checkEncoderFits(caps: EncoderCaps, loaded: LoadedModel, mmproj: string): void {
    if (caps.projectionDim !== loaded.embedding) {
        throw new UserError(
            `${mmproj} projects to ${caps.projectionDim}-wide embeddings but ${loaded.path} has embedding_length ${loaded.embedding}: not this model's encoder`,
        );
    }
}

/** Loads an mmproj for `loaded`; `need` says which encoder the caller requires. */
export function openEncoder(
    loaded: LoadedModel,
    mmproj: string,
    threads: ContextThreads,
    flashAttention: "auto" | "on" | "off",
    need?: "vision" | "audio",
    maxImageTokens?: number,
): NativeMedia {
    let encoder: NativeMedia;
    try {
        encoder = new loaded.addon.NativeMedia(internalModelHandle(loaded.model), mmproj, {
            threads: threads.encoder,
            useGpu: loaded.backend !== "cpu",
            flashAttention,
            maxImageTokens,
        });
    } catch (e) {
        throw new ResourceLoadError(need ? `${need} encoder` : "encoder", (e as Error).message);
    }
    const info = encoder.info();
    if (need && !info[need]) {
        encoder.dispose();
        throw new ResourceLoadError(`${need} encoder`, `${mmproj} has no ${need} encoder`);
    }
    if (info.marker !== MEDIA_MARKER) {
        encoder.dispose();
        throw new InternalError(`libmtmd's media marker is ${info.marker}, autoglm expects ${MEDIA_MARKER}`);
    }
    return encoder;
}

/** An encoder loaded on first use, released after `idleSeconds` unused. */
export function lazyEncoder(
    open: () => NativeMedia,
    opts: { idleSeconds?: number; onChange?: (e: "loaded" | "released") => void } = {},
): LazyResource<NativeMedia> {
    return new LazyResource(open, (e) => e.dispose(), opts.idleSeconds, opts.onChange);
}
