// The one media policy: how an image or a WAV becomes prompt parts. Images are decoded (EXIF,
// alpha, any format sharp reads), scaled to the token budget in the loaded encoder's own token
// size, and named by content id; audio is heard by the model's own encoder when its mmproj has
// one, or transcribed by the speech model and sent as one transcript line.

import { UserError } from "../core/errors.js";
import { decodeWav } from "../media/audio.js";
import { decodeImage, fitToTokens, imageTokens, smartResize, type RgbImage } from "../media/image.js";
import type { ContentPart, MediaPart } from "./chat-template.js";
import type { EncoderCaps } from "./encoders.js";
import { withMediaId } from "./media-prompt.js";
import type { GenerateStats } from "./sequence.js";

/** What a transcript becomes in the chat model's prompt (followed by the user's question). */
export const transcriptText = (transcript: string) => `Transcript of the recording: ${transcript}\n`;

export const DEFAULT_QUESTION = { image: "Describe this image.", audio: "Answer what is said in this recording." } as const;

/** The speech model's transcription (its content is the transcript). */
export interface Transcribe { (samples: Float32Array, signal?: AbortSignal): Promise<{ content: string; stats: GenerateStats }> }

export interface ImagePart {
    part: MediaPart;
    image: RgbImage;
    /** Image tokens the encoder will make of it. */
    tokens: number;
    /** Set when the image was scaled down to the token budget. */
    scaledFrom?: { width: number; height: number; tokens: number };
}

export interface AudioPart { part: ContentPart; seconds: number; transcript?: string; transcription?: GenerateStats }

export class MediaPolicy {
    /**
     * maxPixels: images larger than this are scaled as GLM-4.1V's processor does (vLLM's max_pixels);
     * maxImageTokens: no image becomes more tokens than this (libmtmd is given the same cap).
     */
    constructor(private readonly o: { caps?: EncoderCaps; maxPixels?: number; maxImageTokens?: number; transcribe?: Transcribe }) {}

    get sees(): boolean { return Boolean(this.o.caps?.vision); }
    /** The model hears audio itself (no transcript). */
    get hearsItself(): boolean { return Boolean(this.o.caps?.audio); }
    get hears(): boolean { return this.hearsItself || Boolean(this.o.transcribe); }
    get maxPixels(): number | undefined { return this.o.maxPixels; }
    /** Pixels per side of one image token (0 without a vision encoder). */
    get imageTokenPixels(): number { return this.o.caps?.imageTokenPixels ?? 0; }

    requireVision(): void {
        if (!this.sees) throw new UserError("this model has no vision encoder: start it with --mmproj (the model's vision encoder)");
    }

    requireHearing(): void {
        if (!this.hears) throw new UserError("this model cannot hear audio: give --asr-model and --asr-mmproj (a speech model), or an --mmproj with an audio encoder");
    }

    async image(input: string | Buffer): Promise<ImagePart> {
        this.requireVision();
        const unit = this.o.caps!.imageTokenPixels, maxTokens = this.o.maxImageTokens;
        const target = (w: number, h: number) => {
            // A screenshot within the pixel budget is kept as it is (libmtmd rounds it to its grid).
            let size = this.o.maxPixels !== undefined && w * h > this.o.maxPixels ? smartResize(w, h, unit, this.o.maxPixels) : { width: w, height: h };
            if (maxTokens !== undefined && imageTokens(size.width, size.height, unit) > maxTokens) size = fitToTokens(size.width, size.height, maxTokens, unit);
            return size;
        };
        const image = await decodeImage(input, { resize: target });
        const tokens = imageTokens(image.width, image.height, unit);
        const scaled = image.width !== image.sourceWidth || image.height !== image.sourceHeight;
        const scaledFrom = scaled ? { width: image.sourceWidth, height: image.sourceHeight, tokens: imageTokens(image.sourceWidth, image.sourceHeight, unit) } : undefined;
        return { part: { type: "image", item: withMediaId({ width: image.width, height: image.height, rgb: image.data }) }, image, tokens, scaledFrom };
    }

    async audio(input: string | Buffer, signal?: AbortSignal): Promise<AudioPart> {
        this.requireHearing();
        const audio = await decodeWav(input);
        if (this.hearsItself) return { part: { type: "audio", item: withMediaId({ samples: audio.samples }) }, seconds: audio.seconds };
        const t = await this.o.transcribe!(audio.samples, signal);
        if (t.stats.reason === "aborted") throw new UserError("the transcription was stopped");
        return { part: { type: "text", text: transcriptText(t.content) }, seconds: audio.seconds, transcript: t.content, transcription: t.stats };
    }
}
