// The one media policy: how an image or a WAV becomes prompt parts. Images are decoded (EXIF,
// alpha, any format sharp reads), scaled to the token budget in the loaded encoder's own token
// size, and named by content id; audio is heard by the model's own encoder when its mmproj has
// one, or transcribed by the speech model and sent as one transcript line.

import { UserError } from "../core/errors.js";
import { decodeWav, readWavHeader, type WavLimits } from "../media/audio.js";
import { decodeImage, fitToTokens, imageTokens, readImageHeader, smartResize, type ImageLimits, type RgbImage } from "../media/image.js";
import type { ContentPart, MediaPart } from "./chat-template.js";
import type { EncoderCaps } from "./encoders.js";
import { withMediaId } from "./media-prompt.js";
import type { GenerateStats } from "./sequence.js";

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

/** One media item of a request, not decoded yet. */
export interface PendingMedia {
    kind: "image" | "audio";
    bytes: Buffer;
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

/** The speech model's transcription (its content is the transcript). */
export type Transcribe = (samples: Float32Array, signal?: AbortSignal) => Promise<{ content: string; stats: GenerateStats }>;

export interface ImagePart {
    part: MediaPart;
    image: RgbImage;
    /** Image tokens the encoder will make of it. */
    tokens: number;
    /** Set when the image was scaled down to the token budget. */
    scaledFrom?: { width: number; height: number; tokens: number };
}

export interface AudioPart {
    part: ContentPart;
    seconds: number;
    transcript?: string;
    transcription?: GenerateStats;
}

export class MediaPolicy {
    /**
     * maxPixels: images larger than this are scaled as GLM-4.1V's processor does (vLLM's max_pixels);
     * maxImageTokens: no image becomes more tokens than this (libmtmd is given the same cap).
     */
    private readonly decodes = new Gate(MEDIA_LIMITS.concurrentDecodes);

    constructor(private readonly o: { caps?: EncoderCaps; maxPixels?: number; maxImageTokens?: number; transcribe?: Transcribe }) {}

    /** The source-size limit; never below the scaling budget a user asked for. */
    private get imageLimits(): ImageLimits {
        return { ...IMAGE_LIMITS, maxSourcePixels: Math.max(IMAGE_LIMITS.maxSourcePixels, this.o.maxPixels ?? 0) };
    }

    /** Refuses media kinds this model cannot use and too many items, before any byte is read. */
    admit(counts: { images: number; audios: number }): void {
        if (counts.images > 0) this.requireVision();
        if (counts.audios > 0) this.requireHearing();
        if (counts.images > MEDIA_LIMITS.imagesPerRequest)
            throw new UserError(`${counts.images} images in one request; at most ${MEDIA_LIMITS.imagesPerRequest} are accepted`);
        if (counts.audios > MEDIA_LIMITS.audiosPerRequest)
            throw new UserError(`${counts.audios} audio clips in one request; at most ${MEDIA_LIMITS.audiosPerRequest} are accepted`);
    }

    /** Checks every header of a request's media before any of it is decoded, the decoded bytes summed over the request. */
    async check(items: readonly PendingMedia[]): Promise<void> {
        this.admit({ images: items.filter((i) => i.kind === "image").length, audios: items.filter((i) => i.kind === "audio").length });
        let bytes = 0,
            k = 0;
        for (const i of items) {
            const name = `${i.kind} ${++k}`;
            bytes +=
                i.kind === "image"
                    ? (await readImageHeader(i.bytes, `the ${name}`, this.imageLimits)).decodedBytes
                    : readWavHeader(i.bytes, `the ${name}`, WAV_LIMITS).decodedBytes;
        }
        if (bytes > MEDIA_LIMITS.requestDecodedBytes)
            throw new UserError(
                `the request's media would decode to ${bytes} bytes; at most ${MEDIA_LIMITS.requestDecodedBytes} are accepted in one request`,
            );
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
        return this.hearsItself || Boolean(this.o.transcribe);
    }
    get maxPixels(): number | undefined {
        return this.o.maxPixels;
    }
    /** Pixels per side of one image token (0 without a vision encoder). */
    get imageTokenPixels(): number {
        return this.o.caps?.imageTokenPixels ?? 0;
    }

    requireVision(): void {
        if (!this.sees) throw new UserError("this model has no vision encoder: start it with --mmproj (the model's vision encoder)");
    }

    requireHearing(): void {
        if (!this.hears)
            throw new UserError(
                "this model cannot hear audio: give --asr-model and --asr-mmproj (a speech model), or an --mmproj with an audio encoder",
            );
    }

    async image(input: string | Buffer): Promise<ImagePart> {
        this.requireVision();
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
        const image = await this.decodes.run(() => decodeImage(input, { limits: this.imageLimits, resize: target }));
        const tokens = imageTokens(image.width, image.height, unit);
        const scaled = image.width !== image.sourceWidth || image.height !== image.sourceHeight;
        const scaledFrom = scaled
            ? { width: image.sourceWidth, height: image.sourceHeight, tokens: imageTokens(image.sourceWidth, image.sourceHeight, unit) }
            : undefined;
        return {
            part: { type: "image", item: withMediaId({ width: image.width, height: image.height, rgb: image.data }) },
            image,
            tokens,
            scaledFrom,
        };
    }

    async audio(input: string | Buffer, signal?: AbortSignal): Promise<AudioPart> {
        this.requireHearing();
        const audio = await this.decodes.run(() => decodeWav(input, { limits: WAV_LIMITS, signal }));
        if (this.hearsItself) return { part: { type: "audio", item: withMediaId({ samples: audio.samples }) }, seconds: audio.seconds };
        const t = await this.o.transcribe!(audio.samples, signal);
        if (t.stats.reason === "aborted") throw new UserError("the transcription was stopped");
        return {
            part: { type: "text", text: transcriptText(t.content) },
            seconds: audio.seconds,
            transcript: t.content,
            transcription: t.stats,
        };
    }
}
