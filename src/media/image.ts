// Image input: any format sharp reads (JPEG, PNG, WebP, GIF's first frame, TIFF, AVIF...), EXIF
// orientation applied, alpha dropped, as packed RGB bytes for the vision encoder, which does the
// model's own resize and normalisation. The token budget is the media policy's (src/engine/media-policy.ts).

import { stat } from "node:fs/promises";
import type { Metadata } from "sharp";
import { UserError } from "../core/errors.js";

/** Decoded pixels; source* give the upright size before any resize. */
export interface RgbImage {
    width: number;
    height: number;
    data: Uint8Array;
    format: string;
    sourceWidth: number;
    sourceHeight: number;
}

/** What an image may declare (the media policy's values; src/engine/media-policy.ts). */
export interface ImageLimits {
    maxSourcePixels: number;
    maxDecodedBytes: number;
}

/** An image header that passed the limits, read without decoding any pixel. */
export interface ImageHeader {
    width: number;
    height: number;
    format: string;
    decodedBytes: number;
}

/** Vector and document formats render at any size they declare: not a photo or a screenshot. */
const REFUSED_FORMATS = new Set(["svg", "pdf"]);

const unreadable = (name: string) => new UserError(`${name} is not an image autoglm can read (JPEG, PNG, WebP, GIF, TIFF, AVIF...)`);

/**
 * Reads the image's header (sharp's metadata decodes no pixels) and checks it: a decompression
 * bomb (a small PNG of 12000 x 12000 pixels) is refused before any memory goes to its pixels.
 * decodedBytes: what decoding it holds at most (RGBA at the source size).
 */
export async function readImageHeader(input: string | Buffer, name: string, limits: ImageLimits): Promise<ImageHeader> {
    let meta: Metadata;
    try {
        const { default: sharp } = await import("sharp"); // loaded on first use, as in decodeImage
        meta = await sharp(input, { limitInputPixels: false, animated: false }).metadata();
    } catch (e) {
        if (/unsupported image format/i.test((e as Error).message)) throw unreadable(name);
        throw new UserError(`${name} could not be decoded: ${(e as Error).message.split("\n")[0]}`);
    }
    if (REFUSED_FORMATS.has(meta.format ?? ""))
        throw new UserError(`${name} is ${meta.format?.toUpperCase()}: send a raster image (PNG, JPEG, WebP...)`);
    const width = meta.width ?? 0,
        height = meta.pageHeight ?? meta.height ?? 0; // one frame of an animation
    if (!(width > 0 && height > 0)) throw new UserError(`${name} declares no pixels (${width}x${height})`);
    if (width * height > limits.maxSourcePixels)
        throw new UserError(`${name} is ${width}x${height} pixels; at most ${limits.maxSourcePixels} pixels are accepted`);
    const decodedBytes = width * height * 4;
    if (decodedBytes > limits.maxDecodedBytes)
        throw new UserError(`${name} would decode to ${decodedBytes} bytes; at most ${limits.maxDecodedBytes} are accepted`);
    return { width, height, format: meta.format ?? "unknown", decodedBytes };
}

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
export function smartResize(
    width: number,
    height: number,
    unit: number,
    maxPixels: number,
    minPixels = 112 * 112,
): { width: number; height: number } {
    let w = Math.max(unit, Math.round(width / unit) * unit),
        h = Math.max(unit, Math.round(height / unit) * unit);
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
        const w = Math.max(unit, Math.floor(width * scale)),
            h = Math.max(unit, Math.floor(height * scale));
        if (imageTokens(w, h, unit) <= maxTokens || scale < 1e-3) return { width: w, height: h };
        scale *= 0.98;
    }
}

/**
 * Decodes to packed RGB after readImageHeader's checks; `resize` maps the upright source size to
 * the size wanted (lanczos3). sharp decodes on its own thread pool, off the event loop.
 */
export async function decodeImage(
    input: string | Buffer,
    opts: { limits: ImageLimits; resize?: (width: number, height: number) => { width: number; height: number }; name?: string },
): Promise<RgbImage> {
    const maxPixels = opts.limits.maxSourcePixels;
    const name = opts.name ?? (typeof input === "string" ? input : "the image");
    if (typeof input === "string") {
        const s = await stat(input).catch(() => undefined);
        if (!s) throw new UserError(`image not found: ${input}`);
        if (!s.isFile()) throw new UserError(`${input} is not a file`);
        if (s.size === 0) throw new UserError(`${input} is empty`);
    } else if (input.length === 0) {
        throw new UserError(`${name} is empty`);
    }
    await readImageHeader(input, name, opts.limits);
    // sharp is loaded here, not at import, so that commands without images (and --help) never load it.
    const { default: sharp } = await import("sharp");
    try {
        const img = sharp(input, { failOn: "error", limitInputPixels: maxPixels, animated: false });
        const meta = await img.metadata();
        let pipeline = img.rotate(); // applies EXIF orientation
        const upright = (meta.orientation ?? 1) >= 5;
        const w0 = (upright ? meta.height : meta.width) ?? 0,
            h0 = (upright ? meta.width : meta.height) ?? 0;
        const size = opts.resize?.(w0, h0);
        if (size && (size.width !== w0 || size.height !== h0))
            pipeline = pipeline.resize(size.width, size.height, { fit: "fill", kernel: "lanczos3" });
        const { data, info } = await pipeline.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
        if (info.channels !== 3) throw new UserError(`${name}: expected 3 colour channels after decoding, got ${info.channels}`);
        return {
            width: info.width,
            height: info.height,
            data: new Uint8Array(data.buffer, data.byteOffset, data.length),
            format: meta.format ?? "unknown",
            sourceWidth: w0,
            sourceHeight: h0,
        };
    } catch (e) {
        if (e instanceof UserError) throw e;
        const msg = (e as Error).message;
        if (/unsupported image format/i.test(msg)) throw unreadable(name);
        if (/pixel limit/i.test(msg)) throw new UserError(`${name} is larger than the ${maxPixels}-pixel limit`);
        throw new UserError(`${name} could not be decoded: ${msg.split("\n")[0]}`);
    }
}
