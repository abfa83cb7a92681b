// Answers over media: opening an mmproj for a model, and one-shot answers about an image or a
// clip (describe, transcribe-and-answer) through the same ChatSession the chat uses.

import { existsSync, statSync } from "node:fs";
import { UserError } from "../core/errors.js";
import { readGguf } from "../core/gguf/reader.js";
import { ChatSession, type ChatOptions, type TurnResult, type UserTurn } from "./chat.js";
import { createContext, type ContextSettings } from "./context.js";
import { LazyResource } from "./lazy-resource.js";
import { MEDIA_MARKER } from "./media-prompt.js";
import { internalModelHandle, type LoadedModel } from "./model.js";
import type { NativeMedia } from "./native.js";
import { Session } from "./session.js";
import type { Piece } from "./thinking.js";

/** Which encoders an mmproj holds. */
export interface EncoderCaps { vision: boolean; audio: boolean }

/**
 * Checks that `path` is an mmproj (not a language model) and reads from its header which encoders
 * it holds, without loading it: commands know what an encoder can do before its first use.
 */
export async function readMmproj(path: string, what = "encoder"): Promise<EncoderCaps> {
    if (!existsSync(path)) throw new UserError(`mmproj file not found: ${path}`);
    if (!statSync(path).isFile()) throw new UserError(`${path} is not a file`);
    const meta = (await readGguf(path)).metadata;
    if (meta.value("general.architecture") !== "clip") throw new UserError(`${path} is a language model, not an mmproj (${what}) file`);
    return { vision: meta.value("clip.has_vision_encoder") === true, audio: meta.value("clip.has_audio_encoder") === true };
}

/** Loads an mmproj for `loaded`; `need` says which encoder the caller requires. */
export function openEncoder(loaded: LoadedModel, mmproj: string, settings: ContextSettings, need?: "vision" | "audio", maxImageTokens?: number): NativeMedia {
    let encoder: NativeMedia;
    try {
        encoder = new loaded.addon.NativeMedia(internalModelHandle(loaded.model), mmproj, { threads: settings.threads, useGpu: loaded.backend !== "cpu", flashAttention: settings.flashAttention, maxImageTokens });
    } catch (e) {
        throw new UserError((e as Error).message);
    }
    const info = encoder.info();
    const problem = need && !info[need] ? `${mmproj} has no ${need} encoder`
        : info.marker !== MEDIA_MARKER ? `libmtmd's media marker is ${info.marker}, autoglm expects ${MEDIA_MARKER}` : undefined;
    if (problem) {
        encoder.dispose();
        throw new UserError(problem);
    }
    return encoder;
}

/** An encoder loaded on first use, released after `idleSeconds` unused. */
export function lazyEncoder(loaded: LoadedModel, mmproj: string, settings: ContextSettings, opts: { maxImageTokens?: number; idleSeconds?: number; onChange?: (e: "loaded" | "released") => void } = {}): LazyResource<NativeMedia> {
    return new LazyResource(() => openEncoder(loaded, mmproj, settings, undefined, opts.maxImageTokens), (e) => e.dispose(), opts.idleSeconds, opts.onChange);
}

export interface OneShotOptions extends Pick<ChatOptions, "maxTokens" | "sampling" | "enableThinking"> {
    signal?: AbortSignal;
    onPiece?: (p: Piece) => void;
}

/** One user turn with media, answered in a fresh context. */
export async function answerWithMedia(loaded: LoadedModel, settings: ContextSettings, encoder: NativeMedia, turn: UserTurn, opts: OneShotOptions): Promise<TurnResult> {
    const held = new LazyResource(() => encoder, () => undefined);
    const ctx = createContext(loaded, settings);
    try {
        const chat = new ChatSession(loaded, new Session(ctx), { ...opts, encoders: { image: held, audio: held } });
        return await chat.send(turn, opts.onPiece, opts.signal);
    } finally {
        ctx.dispose();
    }
}
