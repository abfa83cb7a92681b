// Media decoding: images through sharp (orientation, alpha, formats, token budget) and WAV audio
// (bit depths, layouts, mixdown, band-limited resampling checked against the signal's own maths).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeWav } from "../src/media/audio.js";
import { IMAGE_LIMITS, WAV_LIMITS } from "../src/engine/media-policy.js";
import { decodeImage, fitToTokens, imageTokens } from "../src/media/image.js";
import { resample } from "../src/media/resample.js";
import { tempDir } from "./helpers/tmp.js";
import { amplitudeAt, encodeWav, tone } from "./helpers/wav.js";

const root = tempDir("media");

function gradient(w: number, h: number, channels: 3 | 4): Buffer {
    const b = Buffer.alloc(w * h * channels);
    for (let i = 0; i < w * h; i++) {
        b[i * channels] = i % 256;
        b[i * channels + 1] = (i * 3) % 256;
        b[i * channels + 2] = (i * 7) % 256;
        if (channels === 4) b[i * 4 + 3] = 77;
    }
    return b;
}

describe("images", () => {
    it("decodes PNG to the exact RGB bytes and drops alpha", async () => {
        const rgb = gradient(40, 30, 3);
        const png = join(root, "a.png");
        await sharp(rgb, { raw: { width: 40, height: 30, channels: 3 } })
            .png()
            .toFile(png);
        const img = await decodeImage(png, { limits: IMAGE_LIMITS });
        expect([img.width, img.height, img.format]).toEqual([40, 30, "png"]);
        expect(Buffer.from(img.data).equals(rgb)).toBe(true);
        const rgba = join(root, "b.png");
        await sharp(gradient(8, 8, 4), { raw: { width: 8, height: 8, channels: 4 } })
            .png()
            .toFile(rgba);
        const b = await decodeImage(rgba, { limits: IMAGE_LIMITS });
        expect(b.data.length).toBe(8 * 8 * 3);
        expect(b.data[3 * 9]).toBe(9); // red of pixel 9, alpha gone
    });

    it("applies EXIF orientation, and reads JPEG, WebP, TIFF and GIF", async () => {
        const jpg = join(root, "rot.jpg");
        await sharp(gradient(40, 20, 3), { raw: { width: 40, height: 20, channels: 3 } })
            .jpeg()
            .withMetadata({ orientation: 6 })
            .toFile(jpg);
        const r = await decodeImage(jpg, { limits: IMAGE_LIMITS });
        expect([r.width, r.height]).toEqual([20, 40]);
        for (const fmt of ["webp", "tiff", "gif"] as const) {
            const f = join(root, `x.${fmt}`);
            await sharp(gradient(16, 12, 3), { raw: { width: 16, height: 12, channels: 3 } })
                .toFormat(fmt)
                .toFile(f);
            const d = await decodeImage(f, { limits: IMAGE_LIMITS });
            expect([d.width, d.height, d.data.length]).toEqual([16, 12, 16 * 12 * 3]);
        }
    });

    it("counts GLM-4.1V image tokens and scales down to a token budget", async () => {
        expect(imageTokens(1080, 2400, 28)).toBe(3354); // docs/model-facts.md
        const fit = fitToTokens(1080, 2400, 1000, 28);
        expect(imageTokens(fit.width, fit.height, 28)).toBeLessThanOrEqual(1000);
        expect(imageTokens(fit.width, fit.height, 28)).toBeGreaterThan(900);
        expect(Math.abs(fit.width / fit.height - 1080 / 2400)).toBeLessThan(0.02);
        const big = join(root, "shot.png");
        await sharp({ create: { width: 1080, height: 2400, channels: 3, background: "#336699" } })
            .png()
            .toFile(big);
        const img = await decodeImage(big, { limits: IMAGE_LIMITS, resize: (w, h) => fitToTokens(w, h, 1000, 28) });
        expect(imageTokens(img.width, img.height, 28)).toBeLessThanOrEqual(1000);
    });

    it("rejects a text file named .jpg, a truncated PNG and an empty file with clear messages", async () => {
        const txt = join(root, "notes.jpg");
        writeFileSync(txt, "just some text, not an image");
        await expect(decodeImage(txt, { limits: IMAGE_LIMITS })).rejects.toThrow(/not an image autoglm can read/);
        const png = join(root, "full.png");
        await sharp(gradient(64, 64, 3), { raw: { width: 64, height: 64, channels: 3 } })
            .png()
            .toFile(png);
        const cut = join(root, "cut.png");
        const bytes = (await import("node:fs")).readFileSync(png);
        writeFileSync(cut, bytes.subarray(0, bytes.length / 2));
        await expect(decodeImage(cut, { limits: IMAGE_LIMITS })).rejects.toThrow(/could not be decoded|not an image/);
        const empty = join(root, "empty.png");
        writeFileSync(empty, "");
        await expect(decodeImage(empty, { limits: IMAGE_LIMITS })).rejects.toThrow(/is empty/);
        await expect(decodeImage(join(root, "missing.png"), { limits: IMAGE_LIMITS })).rejects.toThrow(/image not found/);
        await expect(decodeImage(png, { limits: { ...IMAGE_LIMITS, maxSourcePixels: 1000 } })).rejects.toThrow(
            /64x64 pixels; at most 1000 pixels are accepted/,
        );
    });
});

describe("audio", () => {
    it("decodes 16-bit mono 16 kHz WAV unchanged", async () => {
        const x = tone(16000, 0.5, 440);
        const a = await decodeWav(encodeWav({ rate: 16000, channels: 1, bits: 16 }, [x]), { limits: WAV_LIMITS });
        expect(a.sampleRate).toBe(16000);
        expect(a.samples.length).toBe(x.length);
        for (let i = 0; i < x.length; i += 97) expect(Math.abs(a.samples[i] - x[i])).toBeLessThan(1 / 16000);
    });

    it("reads 8/24/32-bit PCM, float and WAVE_FORMAT_EXTENSIBLE; mixes stereo down; keeps a 1 kHz tone at 1 kHz", async () => {
        const specs = [
            { rate: 44100, channels: 2, bits: 24 },
            { rate: 48000, channels: 1, bits: 32, float: true },
            { rate: 22050, channels: 1, bits: 8 },
            { rate: 48000, channels: 2, bits: 32 },
            { rate: 44100, channels: 2, bits: 24, extensible: true },
            { rate: 32000, channels: 1, bits: 32, float: true, extensible: true },
        ] as const;
        for (const spec of specs) {
            const left = tone(spec.rate, 1, 1000, 0.5),
                right = tone(spec.rate, 1, 1000, 0.3);
            const a = await decodeWav(encodeWav(spec, spec.channels === 2 ? [left, right] : [left]), { limits: WAV_LIMITS });
            expect(a.sampleRate).toBe(16000);
            expect(Math.abs(a.samples.length - 16000)).toBeLessThanOrEqual(1);
            const expected = spec.channels === 2 ? 0.4 : 0.5;
            expect(amplitudeAt(a.samples, 16000, 1000), JSON.stringify(spec)).toBeCloseTo(expected, spec.bits === 8 ? 1 : 2);
            expect(amplitudeAt(a.samples, 16000, 1500)).toBeLessThan(0.01);
        }
    });

    it("removes content above the new Nyquist frequency instead of aliasing it", () => {
        // 12 kHz at 48 kHz would fold to 4 kHz at 16 kHz without the low-pass.
        const x = tone(48000, 1, 12000, 0.5);
        const y = resample(x, 48000, 16000);
        expect(amplitudeAt(y, 16000, 4000)).toBeLessThan(0.005); // > 40 dB down
        const pass = resample(tone(48000, 1, 3000, 0.5), 48000, 16000);
        expect(amplitudeAt(pass, 16000, 3000)).toBeCloseTo(0.5, 2); // passband kept
    });

    it("rejects mu-law, non-WAV containers, truncated and empty files", async () => {
        const mulaw = encodeWav({ rate: 8000, channels: 1, bits: 8, formatTag: 7 }, [tone(8000, 0.1, 440)]);
        await expect(decodeWav(mulaw, { limits: WAV_LIMITS })).rejects.toThrow(/unsupported WAV encoding mu-law/);
        await expect(decodeWav(Buffer.concat([Buffer.from("ID3"), Buffer.alloc(100)]), { limits: WAV_LIMITS })).rejects.toThrow(
            /not a WAV file .*MP3/,
        );
        const good = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 0.2, 440)]);
        await expect(decodeWav(good.subarray(0, 30), { limits: WAV_LIMITS })).rejects.toThrow(/WAV/);
        await expect(decodeWav(good.subarray(0, good.length - 1001), { limits: WAV_LIMITS })).rejects.toThrow(/truncated/);
        await expect(decodeWav(Buffer.alloc(0), { limits: WAV_LIMITS })).rejects.toThrow(/empty/);
    });
});
