// Image input: any format sharp reads (JPEG, PNG, WebP, GIF's first frame, TIFF, AVIF...), EXIF
// orientation applied, alpha dropped, as packed RGB bytes for the vision encoder, which does the
// model's own resize and normalisation. An optional token budget scales large screenshots down.

import { stat } from "node:fs/promises";
import sharp from "sharp";
import { UserError } from "../core/errors.js";

export interface RgbImage { width: number; height: number; data: Uint8Array; format: string }

/** Input size above which an image is refused outright (decoding it would take too much memory). */
const MAX_INPUT_PIXELS = 16384 * 16384;

/**
 * GLM-4.1V image tokens for a width x height input: sides rounded to multiples of patch x merge
 * (28 px), one token per 28 x 28 cell (MODEL-FACTS.md: 1080x2400 -> 39 x 86 = 3,354).
 */
export function glmImageTokens(width: number, height: number, unit = 28): number {
    return Math.max(1, Math.round(width / unit)) * Math.max(1, Math.round(height / unit));
}

/** The largest size with the same aspect ratio whose token count fits `maxTokens`. */
export function fitToTokens(width: number, height: number, maxTokens: number, unit = 28): { width: number; height: number } {
    if (glmImageTokens(width, height, unit) <= maxTokens) return { width, height };
    let scale = Math.sqrt((maxTokens * unit * unit) / (width * height));
    for (;;) {
        const w = Math.max(unit, Math.floor(width * scale)), h = Math.max(unit, Math.floor(height * scale));
        if (glmImageTokens(w, h, unit) <= maxTokens || scale < 1e-3) return { width: w, height: h };
        scale *= 0.98;
    }
}

export async function decodeImage(input: string | Buffer, opts: { maxTokens?: number; maxPixels?: number } = {}): Promise<RgbImage> {
    const maxPixels = opts.maxPixels ?? MAX_INPUT_PIXELS;
    const name = typeof input === "string" ? input : "the image";
    if (typeof input === "string") {
        const s = await stat(input).catch(() => undefined);
        if (!s) throw new UserError(`image not found: ${input}`);
        if (!s.isFile()) throw new UserError(`${input} is not a file`);
        if (s.size === 0) throw new UserError(`${input} is empty`);
    } else if (input.length === 0) {
        throw new UserError("the image is empty");
    }
    try {
        const img = sharp(input, { failOn: "error", limitInputPixels: maxPixels, animated: false });
        const meta = await img.metadata();
        let pipeline = img.rotate(); // applies EXIF orientation
        const upright = (meta.orientation ?? 1) >= 5;
        const w0 = (upright ? meta.height : meta.width) ?? 0, h0 = (upright ? meta.width : meta.height) ?? 0;
        if (opts.maxTokens !== undefined) {
            const { width, height } = fitToTokens(w0, h0, opts.maxTokens);
            if (width !== w0 || height !== h0) pipeline = pipeline.resize(width, height, { fit: "fill", kernel: "lanczos3" });
        }
        const { data, info } = await pipeline.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
        if (info.channels !== 3) throw new UserError(`${name}: expected 3 colour channels after decoding, got ${info.channels}`);
        return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length), format: meta.format ?? "unknown" };
    } catch (e) {
        if (e instanceof UserError) throw e;
        const msg = (e as Error).message;
        if (/unsupported image format/i.test(msg)) throw new UserError(`${name} is not an image autoglm can read (JPEG, PNG, WebP, GIF, TIFF, AVIF...)`);
        if (/pixel limit/i.test(msg)) throw new UserError(`${name} is larger than the ${maxPixels}-pixel limit`);
        throw new UserError(`${name} could not be decoded: ${msg.split("\n")[0]}`);
    }
}
