// The one media policy: how an image or a WAV becomes prompt parts. Images are decoded (EXIF,
// alpha, any format sharp reads), scaled to the token budget in the loaded encoder's own token
// size, and named by content id; audio is heard by the model's own encoder when its mmproj has
// one, or transcribed by the speech model and sent as one transcript line.

import { ResourceLoadError, UserError } from "../core/errors.js";
import { decodeWav, readWavHeader, type WavLimits } from "../media/audio.js";
import { decodeImage, fitToTokens, imageTokens, readImageHeader, smartResize, type ImageLimits, type RgbImage } from "../media/image.js";
import type { ContentPart, MediaPart } from "./chat-template.js";
import type { EncoderCaps } from "./encoders.js";
import { InvalidMediaError, TooManyMediaError, TurnRefusal, UnsupportedMediaError } from "./errors.js";
import { withMediaId } from "./media-prompt.js";
import type { MediaReport } from "./turn.js";

/** What a transcript becomes in the chat model's prompt (followed by the user's question). */
export const transcriptText = (transcript: string) => `Transcript of the recording: ${transcript}\n`;

/**
 * What media autoglm accepts, checked from headers before anything is decoded (docs/server-contract.md).
 * Each is far above what a phone agent or a chat user sends, and far below what would exhaust the
 * machine: a 1440x3200 screenshot is 4.6 MP, a 30 s 48 kHz stereo clip decodes to 3.8 MB.
 */
export const MEDIA_LIMITS = {
    /** Up to 7.1 surround; 0 channels (a header that makes a decoder loop forever) or 65,535 are not audio. */
    audioMaxChannels: 8,
    /** Telephone (8 kHz) to studio (192 kHz) rates; a 1 Hz header would make the resampler write 16,000 outputs per input sample. */
    audioMinRate: 8_000,
    audioMaxRate: 192_000,
    /** Ten minutes: GLM-ASR hears 30 s windows; longer recordings belong in a transcription pipeline. */
    audioMaxSeconds: 600,
    /** A tenth of a second: libmtmd's mel front end needs more than 200 samples at 16 kHz (it aborts on fewer). */
    audioMinSeconds: 0.1,
    /** 50 MP per image (an 8192 x 6144 camera photo); a 12000 x 12000 PNG bomb is 144 MP. The scaling budget (IMAGE_MAX_PIXELS) is separate. */
    imageMaxSourcePixels: 50_000_000,
    /** Images in one request: an agent sends one screenshot a turn; a long history a few dozen. */
    imagesPerRequest: 32,
    /** Audio clips in one request. */
    audiosPerRequest: 8,
    /** Bytes that decoding one request's media may allocate (RGBA at source size, float samples): a 50 MP photo is 200 MB. */
    requestDecodedBytes: 512 * 2 ** 20,
    /** Requests decoding media at once, so concurrent requests cannot multiply the memory above. */
    concurrentDecodes: 2,
} as const;

/** The default scaling budget, Open-AutoGLM's max_pixels for vLLM: a 1440x3200 screenshot keeps about 5,800 image tokens. */
export const IMAGE_MAX_PIXELS = 5_000_000;

/** MEDIA_LIMITS as the WAV reader takes them. */
export const WAV_LIMITS: WavLimits = {
    maxChannels: MEDIA_LIMITS.audioMaxChannels,
    minRate: MEDIA_LIMITS.audioMinRate,
    maxRate: MEDIA_LIMITS.audioMaxRate,
    maxSeconds: MEDIA_LIMITS.audioMaxSeconds,
    minSeconds: MEDIA_LIMITS.audioMinSeconds,
    maxDecodedBytes: MEDIA_LIMITS.requestDecodedBytes,
};

/** MEDIA_LIMITS as the image reader takes them. */
export const IMAGE_LIMITS: ImageLimits = {
    maxSourcePixels: MEDIA_LIMITS.imageMaxSourcePixels,
    maxDecodedBytes: MEDIA_LIMITS.requestDecodedBytes,
};

/** One media item of a request, read but not decoded yet; `name` is how messages call it (a path, or "the image 2"). */
export interface PendingMedia {
    kind: "image" | "audio";
    bytes: Buffer;
    name: string;
}

/** At most `n` holders at once; the others wait in order (awaiting, not blocking the event loop). */
class Gate {
    private active = 0;
    private readonly waiting: (() => void)[] = [];
    constructor(private readonly n: number) {}
    /** Jobs running or waiting. */
    get load(): number {
        return this.active + this.waiting.length;
    }
    async run<T>(job: () => Promise<T>): Promise<T> {
        if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
        else this.active++;
        try {
            return await job();
        } finally {
            const next = this.waiting.shift();
            if (next) next();
            else this.active--;
        }
    }
}

export const DEFAULT_QUESTION = { image: "Describe this image.", audio: "Answer what is said in this recording." } as const;

/** What a speech model made of a clip. */
export interface Transcript {
    text: string;
    /** Its own turn: the prompt's KV cells (the audio embeddings and the instruction) and the transcript's tokens. */
    promptTokens: number;
    tokens: number;
    firstTokenMs: number;
}

/**
 * A speech model that transcribes WAV recordings for a model that cannot hear (src/engine/speech.ts),
 * made by whoever composes the engine and handed to it: the media policy only calls it.
 */
export interface Transcriber {
    /** Throws CancelledError when `signal` stops it. */
    transcribe(wav: Buffer, signal?: AbortSignal): Promise<Transcript>;
    /** How many times its model was loaded (the server's /metrics). */
    readonly opened: number;
    dispose(): Promise<void>;
}

export interface ImagePart {
    part: MediaPart;
    image: RgbImage;
    /** Image tokens the encoder will make of it. */
    tokens: number;
    /** Set when the image was scaled down to the token budget. */
    scaledFrom?: { width: number; height: number; tokens: number };
    report: MediaReport;
}

export interface AudioPart {
    part: ContentPart;
    seconds: number;
    transcript?: string;
    report: MediaReport;
}

/** A refusal of the media itself names the kind; a server-side fault (an encoder that fails to load) and a cancel pass as they are. */
async function refusedAs<T>(kind: "image" | "audio" | "media", job: () => Promise<T>): Promise<T> {
    try {
        return await job();
    } catch (e) {
        if (!(e instanceof UserError) || e instanceof ResourceLoadError || e instanceof TurnRefusal) throw e;
        throw new InvalidMediaError(kind, e.message);
    }
}

export class MediaPolicy {
    /**
     * maxPixels: images larger than this are scaled as GLM-4.1V's processor does (vLLM's max_pixels);
     * maxImageTokens: no image becomes more tokens than this (libmtmd is given the same cap).
     */
    private readonly decodes = new Gate(MEDIA_LIMITS.concurrentDecodes);

    constructor(private readonly o: { caps?: EncoderCaps; maxPixels?: number; maxImageTokens?: number; transcriber?: Transcriber }) {}

    /** The source-size limit; never below the scaling budget a user asked for. */
    private get imageLimits(): ImageLimits {
        return { ...IMAGE_LIMITS, maxSourcePixels: Math.max(IMAGE_LIMITS.maxSourcePixels, this.o.maxPixels ?? 0) };
    }

    /** Refuses media kinds this model cannot use and too many items, before any byte is read. */
    admit(counts: { images: number; audios: number }): void {
        if (counts.images > 0) this.requireVision();
        if (counts.audios > 0) this.requireHearing();
        if (counts.images > MEDIA_LIMITS.imagesPerRequest)
            throw new TooManyMediaError(`${counts.images} images in one request; at most ${MEDIA_LIMITS.imagesPerRequest} are accepted`);
        if (counts.audios > MEDIA_LIMITS.audiosPerRequest)
            throw new TooManyMediaError(
                `${counts.audios} audio clips in one request; at most ${MEDIA_LIMITS.audiosPerRequest} are accepted`,
            );
    }

    /** Checks every header of a request's media before any of it is decoded, the decoded bytes summed over the request. */
    async check(items: readonly PendingMedia[]): Promise<void> {
        this.admit({ images: items.filter((i) => i.kind === "image").length, audios: items.filter((i) => i.kind === "audio").length });
        await refusedAs("media", async () => {
            let bytes = 0;
            for (const i of items)
                bytes +=
                    i.kind === "image"
                        ? (await readImageHeader(i.bytes, i.name, this.imageLimits)).decodedBytes
                        : readWavHeader(i.bytes, i.name, WAV_LIMITS).decodedBytes;
            if (bytes > MEDIA_LIMITS.requestDecodedBytes)
                throw new UserError(
                    `the request's media would decode to ${bytes} bytes; at most ${MEDIA_LIMITS.requestDecodedBytes} are accepted in one request`,
                );
        });
    }

    /** Media items being decoded now or waiting to be (the server's /metrics shows it). */
    get decoding(): number {
        return this.decodes.load;
    }

    get sees(): boolean {
        return Boolean(this.o.caps?.vision);
    }
    /** The model hears audio itself (no transcript). */
    get hearsItself(): boolean {
        return Boolean(this.o.caps?.audio);
    }
    get hears(): boolean {
        return this.hearsItself || Boolean(this.o.transcriber);
    }
    /** Audio goes through the speech model (slow: a turn says so before each clip). */
    get transcribes(): boolean {
        return !this.hearsItself && Boolean(this.o.transcriber);
    }
    get maxPixels(): number | undefined {
        return this.o.maxPixels;
    }
    /** Pixels per side of one image token (0 without a vision encoder). */
    get imageTokenPixels(): number {
        return this.o.caps?.imageTokenPixels ?? 0;
    }

    requireVision(): void {
        if (!this.sees) throw new UnsupportedMediaError("image");
    }

    requireHearing(): void {
        if (!this.hears) throw new UnsupportedMediaError("audio");
    }

    /** Decodes and scales an image (a file's path, or its bytes named `name` in messages). */
    image(input: string | Buffer, name?: string): Promise<ImagePart> {
        this.requireVision();
        return refusedAs("image", () => this.decodeImage(input, name));
    }

    private async decodeImage(input: string | Buffer, name?: string): Promise<ImagePart> {
        const unit = this.o.caps!.imageTokenPixels,
            maxTokens = this.o.maxImageTokens;
        const target = (w: number, h: number) => {
            // A screenshot within the pixel budget is kept as it is (libmtmd rounds it to its grid).
            let size =
                this.o.maxPixels !== undefined && w * h > this.o.maxPixels
                    ? smartResize(w, h, unit, this.o.maxPixels)
                    : { width: w, height: h };
            if (maxTokens !== undefined && imageTokens(size.width, size.height, unit) > maxTokens)
                size = fitToTokens(size.width, size.height, maxTokens, unit);
            return size;
        };
        const image = await this.decodes.run(() => decodeImage(input, { limits: this.imageLimits, resize: target, name }));
        const tokens = imageTokens(image.width, image.height, unit);
        const sourceTokens = imageTokens(image.sourceWidth, image.sourceHeight, unit);
        const scaled = image.width !== image.sourceWidth || image.height !== image.sourceHeight;
        const scaledFrom = scaled ? { width: image.sourceWidth, height: image.sourceHeight, tokens: sourceTokens } : undefined;
        return {
            part: { type: "image", item: withMediaId({ width: image.width, height: image.height, rgb: image.data }) },
            image,
            tokens,
            scaledFrom,
            report: {
                kind: "image",
                width: image.width,
                height: image.height,
                tokens,
                source: { width: image.sourceWidth, height: image.sourceHeight, tokens: sourceTokens },
                format: image.format,
            },
        };
    }

    /**
     * A WAV recording as prompt parts: the model hears it itself (its samples), or the speech model's
     * transcript goes in as a line of text. Throws CancelledError when `signal` stops it.
     */
    audio(bytes: Buffer, name: string, signal?: AbortSignal): Promise<AudioPart> {
        this.requireHearing();
        return refusedAs("audio", async (): Promise<AudioPart> => {
            if (this.hearsItself) {
                const audio = await this.decodes.run(() => decodeWav(bytes, { limits: WAV_LIMITS, signal, name }));
                return {
                    part: { type: "audio", item: withMediaId({ samples: audio.samples }) },
                    seconds: audio.seconds,
                    report: { kind: "audio", seconds: audio.seconds },
                };
            }
            // The speech model decodes the clip itself; its header is checked here first, before that model loads.
            const { seconds } = readWavHeader(bytes, name, WAV_LIMITS);
            const t = await this.o.transcriber!.transcribe(bytes, signal);
            return {
                part: { type: "text", text: transcriptText(t.text) },
                seconds,
                transcript: t.text,
                report: {
                    kind: "audio",
                    seconds,
                    transcript: t.text,
                    transcription: { promptTokens: t.promptTokens, tokens: t.tokens, firstTokenMs: t.firstTokenMs },
                },
            };
        });
    }
}
