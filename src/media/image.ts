// Image input: any format sharp reads (JPEG, PNG, WebP, GIF's first frame, TIFF, AVIF...), EXIF
// orientation applied, alpha dropped, as packed RGB bytes for the vision encoder, which does the
// model's own resize and normalisation. The token budget is the media policy's (src/engine/media-policy.ts).

import { stat } from "node:fs/promises";
import { UserError } from "../core/errors.js";

/** Decoded pixels; source* give the upright size before any resize. */
export interface RgbImage { width: number; height: number; data: Uint8Array; format: string; sourceWidth: number; sourceHeight: number }

/** Input size above which an image is refused outright (decoding it would take too much memory). */
const MAX_INPUT_PIXELS = 16384 * 16384;

/**
 * Image tokens for a width x height input when one token covers unit x unit pixels (patch x merge;
 * GLM-4.1V: 14 x 2 = 28): sides rounded to multiples of it (docs/model-facts.md: 1080x2400 -> 39 x 86 = 3,354).
 */
export function imageTokens(width: number, height: number, unit: number): number {
    return Math.max(1, Math.round(width / unit)) * Math.max(1, Math.round(height / unit));
}

/**
 * The size GLM-4.1V's image processor (as vLLM runs it) resizes to: sides rounded to multiples of
 * `unit`, scaled down to at most `maxPixels` (rounding down) and up to at least `minPixels`. The
 * image tokens are then (width / unit) x (height / unit): 1080x2400 keeps 39 x 86 = 3,354 at 5 MP.
 */
export function smartResize(width: number, height: number, unit: number, maxPixels: number, minPixels = 112 * 112): { width: number; height: number } {
    let w = Math.max(unit, Math.round(width / unit) * unit), h = Math.max(unit, Math.round(height / unit) * unit);
    if (w * h > maxPixels) {
        const beta = Math.sqrt((width * height) / maxPixels);
        w = Math.max(unit, Math.floor(width / beta / unit) * unit);
        h = Math.max(unit, Math.floor(height / beta / unit) * unit);
    } else if (w * h < minPixels) {
        const beta = Math.sqrt(minPixels / (width * height));
        w = Math.ceil((width * beta) / unit) * unit;
        h = Math.ceil((height * beta) / unit) * unit;
    }
    return { width: w, height: h };
}

/** The largest size with the same aspect ratio whose token count fits `maxTokens`. */
export function fitToTokens(width: number, height: number, maxTokens: number, unit: number): { width: number; height: number } {
    if (imageTokens(width, height, unit) <= maxTokens) return { width, height };
    let scale = Math.sqrt((maxTokens * unit * unit) / (width * height));
    for (;;) {
        const w = Math.max(unit, Math.floor(width * scale)), h = Math.max(unit, Math.floor(height * scale));
        if (imageTokens(w, h, unit) <= maxTokens || scale < 1e-3) return { width: w, height: h };
        scale *= 0.98;
    }
}

/** Decodes to packed RGB; `resize` maps the upright source size to the size wanted (lanczos3), read from the header first. */
export async function decodeImage(input: string | Buffer, opts: { resize?: (width: number, height: number) => { width: number; height: number }; maxPixels?: number } = {}): Promise<RgbImage> {
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
    // sharp is loaded here, not at import, so that commands without images (and --help) never load it.
    const { default: sharp } = await import("sharp");
    try {
        const img = sharp(input, { failOn: "error", limitInputPixels: maxPixels, animated: false });
        const meta = await img.metadata();
        let pipeline = img.rotate(); // applies EXIF orientation
        const upright = (meta.orientation ?? 1) >= 5;
        const w0 = (upright ? meta.height : meta.width) ?? 0, h0 = (upright ? meta.width : meta.height) ?? 0;
        const size = opts.resize?.(w0, h0);
        if (size && (size.width !== w0 || size.height !== h0)) pipeline = pipeline.resize(size.width, size.height, { fit: "fill", kernel: "lanczos3" });
        const { data, info } = await pipeline.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
        if (info.channels !== 3) throw new UserError(`${name}: expected 3 colour channels after decoding, got ${info.channels}`);
        return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length), format: meta.format ?? "unknown", sourceWidth: w0, sourceHeight: h0 };
    } catch (e) {
        if (e instanceof UserError) throw e;
        const msg = (e as Error).message;
        if (/unsupported image format/i.test(msg)) throw new UserError(`${name} is not an image autoglm can read (JPEG, PNG, WebP, GIF, TIFF, AVIF...)`);
        if (/pixel limit/i.test(msg)) throw new UserError(`${name} is larger than the ${maxPixels}-pixel limit`);
        throw new UserError(`${name} could not be decoded: ${msg.split("\n")[0]}`);
    }
}
