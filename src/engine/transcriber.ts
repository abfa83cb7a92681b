// Speech to text with a GLM-ASR model and its audio mmproj, for models that cannot hear themselves
// (AutoGLM-Phone-9B has no audio encoder). Model and encoder load on first use and can be released
// after an idle time.

import type { ContextSettings } from "./context.js";
import { LazyResource } from "./lazy-resource.js";
import { answerWithMedia, openEncoder } from "./media-answer.js";
import { loadModel, type LoadedModel, type LoadOptions } from "./model.js";
import type { NativeMedia } from "./native.js";
import type { TurnResult } from "./chat.js";

/** GLM-ASR's instruction (its model card's transcription prompt). */
export const TRANSCRIBE_PROMPT = "Please transcribe this audio into text";

/** The chat model's prompt for a transcript, with or without a question about the recording. */
export function transcriptPrompt(transcript: string, question?: string): string {
    return question ? `${question}\n\nTranscript of the recording: ${transcript}` : transcript;
}

interface SpeechModel { loaded: LoadedModel; encoder: NativeMedia }

export class Transcriber {
    private readonly model: LazyResource<SpeechModel>;

    constructor(paths: { model: string; mmproj: string }, load: LoadOptions, private readonly settings: ContextSettings, idleSeconds?: number, onLoad?: (m: LoadedModel) => void) {
        this.model = new LazyResource<SpeechModel>(async () => {
            const loaded = await loadModel(paths.model, load);
            try {
                const encoder = openEncoder(loaded, paths.mmproj, settings, "audio");
                onLoad?.(loaded);
                return { loaded, encoder };
            } catch (e) {
                await loaded.dispose();
                throw e;
            }
        }, async (m) => { m.encoder.dispose(); await m.loaded.dispose(); }, idleSeconds);
    }

    transcribe(samples: Float32Array, opts: { maxTokens: number; signal?: AbortSignal }): Promise<TurnResult> {
        return this.model.use(({ loaded, encoder }) => answerWithMedia(loaded, this.settings, encoder, { text: TRANSCRIBE_PROMPT, media: [{ kind: "audio", item: { samples } }] }, {
            maxTokens: opts.maxTokens, sampling: { temperature: 0 }, signal: opts.signal,
        }));
    }

    dispose(): Promise<void> { return this.model.release(); }
}

