// The media policy on its own (no model): what it refuses and with which typed error (the codes the
// server answers with), what it checks before decoding, how it scales an image to the budget and
// what it reports, and that a clip goes to the transcriber only after its header passed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidMediaError, TooManyMediaError, UnsupportedMediaError } from "../src/engine/errors.js";
import { MEDIA_LIMITS, MediaPolicy, type Transcriber } from "../src/engine/media-policy.js";
import { lyingWav, pngWithHeader } from "./helpers/hostile-media.js";
import { writeTestPng } from "./helpers/media.js";
import { tempDir } from "./helpers/tmp.js";
import { encodeWav, tone } from "./helpers/wav.js";

const root = tempDir("media-policy");
const VISION = { vision: true, audio: false, imageTokenPixels: 28, projectionDim: 4096 };
const HEARS = { vision: false, audio: true, imageTokenPixels: 0, projectionDim: 4096 };

/** A transcriber that records what it was given and answers a fixed transcript. */
function fakeTranscriber() {
    const heard: Buffer[] = [];
    const t: Transcriber = {
        opened: 0,
        async transcribe(wav) {
            heard.push(wav);
            return { text: "open the settings", promptTokens: 400, tokens: 4, firstTokenMs: 12 };
        },
        async dispose() {},
    };
    return { t, heard };
}

const refusal = async (job: () => unknown) => {
    try {
        await job();
    } catch (e) {
        return e as Error & { code?: string };
    }
    throw new Error("expected a refusal");
};

describe("the media policy", () => {
    it("refuses kinds the model cannot use and too many items, before any byte, each with its typed error and code", async () => {
        const none = new MediaPolicy({});
        const noVision = await refusal(() => none.admit({ images: 1, audios: 0 }));
        expect(noVision).toBeInstanceOf(UnsupportedMediaError);
        expect(noVision.code).toBe("vision_unsupported");
        expect(noVision.message).toMatch(/no vision encoder: start it with --mmproj/);
        const deaf = await refusal(() => none.admit({ images: 0, audios: 1 }));
        expect(deaf.code).toBe("audio_unsupported");
        expect(deaf.message).toMatch(/cannot hear audio/);
        const many = await refusal(() => new MediaPolicy({ caps: VISION }).admit({ images: MEDIA_LIMITS.imagesPerRequest + 1, audios: 0 }));
        expect(many).toBeInstanceOf(TooManyMediaError);
        expect(many.code).toBe("too_many_media");
        expect(many.message).toMatch(/33 images in one request; at most 32/);
        expect(new MediaPolicy({ caps: HEARS }).hears).toBe(true);
        expect(new MediaPolicy({ transcriber: fakeTranscriber().t }).transcribes).toBe(true);
    });

    it("checks every header together, naming the item as the request does; the decoded bytes are summed over the request", async () => {
        const policy = new MediaPolicy({ caps: { ...VISION, audio: true } });
        const bomb = pngWithHeader(12000, 12000, Buffer.alloc(16));
        const e = await refusal(() =>
            policy.check([
                { kind: "audio", bytes: encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 0.5, 440)]), name: "the audio 1" },
                { kind: "image", bytes: bomb, name: "the image 2" },
            ]),
        );
        expect(e).toBeInstanceOf(InvalidMediaError);
        expect(e.code).toBe("invalid_media");
        expect(e.message).toMatch(/^the image 2 is 12000x12000 pixels; at most 50000000/);
        // Each 7000 x 7000 header is under the per-image limit; six of them are not, in one request.
        const big = pngWithHeader(7000, 7000, Buffer.alloc(16));
        const sum = await refusal(() =>
            policy.check(Array.from({ length: 6 }, (_, i) => ({ kind: "image" as const, bytes: big, name: `the image ${i + 1}` }))),
        );
        expect(sum.message).toMatch(/the request's media would decode to \d+ bytes; at most 536870912/);
    });

    it("scales an image to the pixel budget as vLLM's processor does and reports the size seen, the tokens and the source", async () => {
        const png = join(root, "photo.png");
        await writeTestPng(png, 1000, 800);
        const policy = new MediaPolicy({ caps: VISION, maxPixels: 200_000 });
        const r = await policy.image(readFileSync(png), "the image 1");
        expect(r.report).toMatchObject({ kind: "image", format: "png", source: { width: 1000, height: 800 } });
        if (r.report.kind !== "image") throw new Error("not an image report");
        expect(r.report.width * r.report.height).toBeLessThanOrEqual(200_000);
        expect(r.report.width % 28).toBe(0); // whole image tokens
        expect(r.report.tokens).toBe((r.report.width / 28) * (r.report.height / 28));
        expect(r.report.source.tokens).toBeGreaterThan(r.report.tokens);
        const e = await refusal(() => policy.image(Buffer.from("not an image at all"), "the image 3"));
        expect(e.code).toBe("invalid_image");
        expect(e.message).toMatch(/^the image 3 is not an image autoglm can read/);
    });

    it("a clip for the speech model: its header is checked first (a lying one never reaches it), then its transcript is a line of text", async () => {
        const { t, heard } = fakeTranscriber();
        const policy = new MediaPolicy({ transcriber: t });
        const bad = await refusal(() => policy.audio(lyingWav(2200, { channels: 0 }), "the audio 1"));
        expect(bad.code).toBe("invalid_audio");
        expect(bad.message).toMatch(/declares 0 channels/);
        expect(heard).toHaveLength(0);
        const wav = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 1.5, 440)]);
        const a = await policy.audio(wav, "the audio 1");
        expect(heard).toEqual([wav]);
        expect(a.part).toEqual({ type: "text", text: "Transcript of the recording: open the settings\n" });
        expect(a.report).toEqual({
            kind: "audio",
            seconds: 1.5,
            transcript: "open the settings",
            transcription: { promptTokens: 400, tokens: 4, firstTokenMs: 12 },
        });
    });

    it("a model that hears gets the samples at 16 kHz, resampled and mixed down", async () => {
        const policy = new MediaPolicy({ caps: HEARS });
        const stereo = encodeWav({ rate: 44100, channels: 2, bits: 24 }, [tone(44100, 0.5, 300), tone(44100, 0.5, 500)]);
        const a = await policy.audio(stereo, "the audio 1");
        expect(a.part.type).toBe("audio");
        expect(a.report).toEqual({ kind: "audio", seconds: 0.5 });
        const item = (a.part as { item?: { samples: Float32Array } }).item!;
        expect(item.samples.length).toBe(8000);
    });
});
