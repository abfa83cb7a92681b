// Composes a local engine: the Runtime over the model, and, for a model that cannot hear, the speech
// model that transcribes for it (made here and handed to the Runtime, which never builds one).

import type { ContextSettings } from "./context.js";
import type { EncoderCaps } from "./encoders.js";
import type { LoadedModel, LoadOptions } from "./model.js";
import { Runtime, type RuntimeOptions } from "./runtime.js";
import { SpeechModel } from "./speech.js";

export interface LocalEngineOptions extends Omit<RuntimeOptions, "speech" | "onResource"> {
    load?: LoadOptions;
    context?: Partial<ContextSettings>;
    encoderCaps?: EncoderCaps;
    /** The speech model's files (GLM-ASR and its audio mmproj), found at its first use; only for a model that cannot hear. */
    speech?: () => Promise<{ model: string; mmproj: string }>;
    /** The encoder and the speech model: loaded at first use, released after idleSeconds. */
    onResource?: (what: "encoder" | "speech model", event: "loaded" | "released", detail?: LoadedModel) => void;
}

export async function openLocalEngine(o: LocalEngineOptions): Promise<Runtime> {
    const speech =
        o.speech && !o.encoderCaps?.audio
            ? new SpeechModel(
                  o.speech,
                  // The chat model's backend and settings; its own context size (one 30 s window and a transcript).
                  { load: { ...o.load, signal: undefined }, context: { ...o.context, contextSize: undefined } },
                  o.idleSeconds,
                  (e, m) => o.onResource?.("speech model", e, m),
              )
            : undefined;
    try {
        return await Runtime.open({ ...o, speech, onResource: o.onResource && ((what, e) => o.onResource!(what, e)) });
    } catch (e) {
        await speech?.dispose();
        throw e;
    }
}
