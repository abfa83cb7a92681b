// Speech to text with a GLM-ASR model and its audio mmproj, for models that cannot hear themselves
// (AutoGLM-Phone-9B has no audio encoder). It is a one-slot Runtime of its own, loaded on first use:
// one context, reused by every request and queued like any job; released after an idle time. Whoever
// composes an engine makes it and hands it to that engine's media policy as its Transcriber
// (src/engine/local-engine.ts), so the runtime never builds one (no import cycle).

import { ResourceLoadError, UserError } from "../core/errors.js";
import type { ContextSettings } from "./context.js";
import { readMmproj } from "./encoders.js";
import { CancelledError } from "./errors.js";
import { LazyResource } from "./lazy-resource.js";
import type { Transcriber, Transcript } from "./media-policy.js";
import type { LoadedModel, LoadOptions } from "./model.js";
import { Runtime } from "./runtime.js";

/** GLM-ASR's instruction (its model card's transcription prompt). */
export const TRANSCRIBE_PROMPT = "Please transcribe this audio into text";

/** Longest transcript, in tokens. */
const MAX_TRANSCRIPT_TOKENS = 1024;

export class SpeechModel implements Transcriber {
    private readonly runtime: LazyResource<Runtime>;
    /** How many times the speech model (and its one context) was opened. */
    opened = 0;
    private loaded?: LoadedModel;

    constructor(
        paths: () => Promise<{ model: string; mmproj: string }>,
        base: { load?: LoadOptions; context?: Partial<ContextSettings> },
        idleSeconds?: number,
        onChange?: (e: "loaded" | "released", m?: LoadedModel) => void,
    ) {
        this.runtime = new LazyResource<Runtime>(
            async () => {
                let rt: Runtime;
                try {
                    const { model, mmproj } = await paths();
                    const caps = await readMmproj(mmproj, "audio encoder");
                    if (!caps.audio) throw new UserError(`${mmproj} has no audio encoder: not a speech model's mmproj`);
                    rt = await Runtime.open({ model, mmproj, encoderCaps: caps, load: base.load, context: base.context, slots: 1 });
                } catch (e) {
                    if (!(e instanceof UserError) || e instanceof ResourceLoadError) throw e;
                    throw new ResourceLoadError("speech model", e.message);
                }
                this.opened++;
                this.loaded = rt.loaded;
                return rt;
            },
            (rt) => rt.dispose(),
            idleSeconds,
            (e) => onChange?.(e, this.loaded),
        );
    }

    /** One turn of the speech model over the recording: its answer is the transcript. */
    async transcribe(wav: Buffer, signal?: AbortSignal): Promise<Transcript> {
        try {
            return await this.runtime.use(async (rt) => {
                const r = await rt.turn({
                    messages: [
                        {
                            role: "user",
                            content: [
                                { type: "audio", source: { bytes: wav } },
                                { type: "text", text: TRANSCRIBE_PROMPT },
                            ],
                        },
                    ],
                    maxTokens: MAX_TRANSCRIPT_TOKENS,
                    // Greedy, and without a repeat penalty the model's own sampling defaults may carry (a transcript repeats words).
                    sampling: { temperature: 0, repeatPenalty: 1 },
                    signal,
                });
                if (r.finish === "aborted") throw new CancelledError("the transcription was stopped");
                return {
                    text: r.content,
                    promptTokens: r.usage.promptTokens,
                    tokens: r.usage.completionTokens,
                    firstTokenMs: r.timings.firstTokenMs,
                };
            });
        } catch (e) {
            // Its audio encoder failing to load is the speech model failing, to a server's client.
            if (e instanceof ResourceLoadError && e.resource !== "speech model") throw new ResourceLoadError("speech model", e.message);
            throw e;
        }
    }

    dispose(): Promise<void> {
        return this.runtime.release();
    }
}
