// One-shot answers over media: load the mmproj, render the chat template with media markers,
// encode and evaluate through libmtmd, stream the answer. Used by describe and transcribe-and-answer.

import { UserError } from "../../convert/errors.js";
import { ChatTemplate, type ChatMessage } from "./chat-template.js";
import type { ContextSettings } from "./context.js";
import { createContext } from "./context.js";
import { StreamingDetokenizer } from "./detokenizer.js";
import { mediaPromptText } from "./media-prompt.js";
import { internalModelHandle, type LoadedModel } from "./model.js";
import type { MediaItem, NativeMedia, SamplingOptions } from "./native.js";
import { Session, type GenerateStats } from "./session.js";
import { ThinkingSplitter, type Piece } from "./thinking.js";

export interface MediaAnswer { content: string; reasoning: string; stats: GenerateStats }

/** Loads an mmproj for `loaded`; `need` says which encoder the caller requires. */
export function openEncoder(loaded: LoadedModel, mmproj: string, settings: ContextSettings, need: "vision" | "audio", maxImageTokens?: number): NativeMedia {
    let encoder: NativeMedia;
    try {
        encoder = new loaded.addon.NativeMedia(internalModelHandle(loaded.model), mmproj, { threads: settings.threads, useGpu: loaded.backend !== "cpu", maxImageTokens });
    } catch (e) {
        throw new UserError((e as Error).message);
    }
    if (!encoder.info()[need]) {
        encoder.dispose();
        throw new UserError(`${mmproj} has no ${need} encoder`);
    }
    return encoder;
}

export async function answerWithMedia(
    loaded: LoadedModel, settings: ContextSettings, encoder: NativeMedia, messages: ChatMessage[], items: MediaItem[],
    opts: { maxTokens: number; sampling?: SamplingOptions; enableThinking?: boolean; signal?: AbortSignal; onPiece?: (p: Piece) => void },
): Promise<MediaAnswer> {
    const template = new ChatTemplate(String(loaded.model.fileInfo.metadata.tokenizer?.chat_template ?? ""));
    const text = mediaPromptText(template, messages, encoder.info().marker, { enableThinking: opts.enableThinking });
    const ctx = createContext(loaded, settings);
    try {
        const detok = new StreamingDetokenizer(loaded.model);
        const splitter = new ThinkingSplitter();
        let content = "", reasoning = "";
        const take = (ps: Piece[]) => {
            for (const p of ps) {
                if (p.kind === "content") content += p.text; else reasoning += p.text;
                opts.onPiece?.(p);
            }
        };
        const stats = await new Session(ctx).generateWithMedia({ encoder, text, items }, {
            maxTokens: opts.maxTokens, sampling: opts.sampling, signal: opts.signal,
            onToken: (t) => take(splitter.push(detok.push(t))),
        });
        take(splitter.push(detok.flush()));
        take(splitter.flush());
        return { content: content.trim(), reasoning: reasoning.trim(), stats };
    } finally {
        ctx.dispose();
    }
}
