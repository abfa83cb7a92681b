// Hostile and broken media for the tests: WAV headers that lie (0 channels, block align 0, 1 Hz,
// 4 GB of declared data), decompression bombs, truncated and odd images, and a seeded fuzzer that
// mutates valid files. Everything is built here, deterministically; nothing is downloaded.
import { createDeflate, crc32 } from "node:zlib";
import sharp from "sharp";
import { encodeWav, tone } from "./wav.js";
import { mulberry32 } from "../../models/synthetic/random.js";

/** Fields of a plain 44-byte PCM header, written as given (no consistency fixed up). */
export interface WavHeaderFields {
    tag?: number;
    channels?: number;
    rate?: number;
    byteRate?: number;
    blockAlign?: number;
    bits?: number;
    dataSize?: number;
}

/** A 16-bit mono WAV of `frames` samples whose header fields are then overwritten by `f`. */
export function lyingWav(frames: number, f: WavHeaderFields = {}): Buffer {
    const b = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, frames / 16000, 440)]);
    if (f.tag !== undefined) b.writeUInt16LE(f.tag, 20);
    if (f.channels !== undefined) b.writeUInt16LE(f.channels, 22);
    if (f.rate !== undefined) b.writeUInt32LE(f.rate, 24);
    if (f.byteRate !== undefined) b.writeUInt32LE(f.byteRate, 28);
    if (f.blockAlign !== undefined) b.writeUInt16LE(f.blockAlign, 32);
    if (f.bits !== undefined) b.writeUInt16LE(f.bits, 34);
    if (f.dataSize !== undefined) b.writeUInt32LE(f.dataSize, 40);
    return b;
}

/** WAVs every front end must refuse with a clear message, each with what the message says. */
export function hostileWavs(): { name: string; bytes: Buffer; message: RegExp }[] {
    const twoSeconds = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 2, 440)]);
    return [
        {
            name: "0 channels, block align 0 (4.4 KB)",
            bytes: lyingWav(2200, { channels: 0, blockAlign: 0, byteRate: 0 }),
            message: /declares 0 channels/,
        },
        { name: "block align 0", bytes: lyingWav(2200, { blockAlign: 0 }), message: /inconsistent \(block align 0/ },
        { name: "65535 channels", bytes: lyingWav(2200, { channels: 65535 }), message: /declares 65535 channels/ },
        { name: "1 Hz", bytes: lyingWav(2200, { rate: 1, byteRate: 2 }), message: /sample rate of 1 Hz/ },
        { name: "4 GHz", bytes: lyingWav(2200, { rate: 0xffffffff }), message: /sample rate of 4294967295 Hz/ },
        { name: "1 sample", bytes: lyingWav(1), message: /too short \(1 samples/ },
        { name: "4 GB of declared data", bytes: lyingWav(2200, { dataSize: 0xfffffff0 }), message: /truncated/ },
        { name: "truncated data", bytes: twoSeconds.subarray(0, twoSeconds.length / 2), message: /truncated/ },
        { name: "12-bit samples", bytes: lyingWav(2200, { bits: 12 }), message: /unsupported WAV sample size: 12-bit/ },
        { name: "16-bit float", bytes: lyingWav(2200, { tag: 3 }), message: /unsupported WAV sample size: 16-bit float/ },
        { name: "mu-law", bytes: lyingWav(2200, { tag: 7 }), message: /unsupported WAV encoding mu-law/ },
        {
            name: "11 minutes",
            bytes: encodeWav({ rate: 8000, channels: 1, bits: 8 }, [new Float32Array(8000 * 660)]),
            message: /660\.0 s long; at most 600 s/,
        },
        {
            name: "no format chunk",
            bytes: Buffer.concat([Buffer.from("RIFF\x24\x00\x00\x00WAVEdata\x04\x00\x00\x00", "latin1"), Buffer.alloc(4)]),
            message: /without a valid format chunk/,
        },
    ];
}

/** Valid layouts a real recorder writes: they must decode (extensible 24-bit, 8-bit, float). */
export function validWavs(): { name: string; bytes: Buffer }[] {
    const s = (rate: number) => [tone(rate, 0.5, 300), tone(rate, 0.5, 500)];
    return [
        { name: "extensible 24-bit stereo 44.1 kHz", bytes: encodeWav({ rate: 44100, channels: 2, bits: 24, extensible: true }, s(44100)) },
        { name: "8-bit mono 8 kHz", bytes: encodeWav({ rate: 8000, channels: 1, bits: 8 }, [tone(8000, 0.5, 300)]) },
        { name: "32-bit float stereo 48 kHz", bytes: encodeWav({ rate: 48000, channels: 2, bits: 32, float: true }, s(48000)) },
    ];
}

function pngChunk(type: string, data: Buffer): Buffer {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
}

function ihdr(width: number, height: number): Buffer {
    const d = Buffer.alloc(13);
    d.writeUInt32BE(width, 0);
    d.writeUInt32BE(height, 4);
    d[8] = 8;
    d[9] = 2; // 8-bit RGB
    return pngChunk("IHDR", d);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG whose header declares width x height over the IDAT given (a lie unless it matches). */
export function pngWithHeader(width: number, height: number, idat: Buffer): Buffer {
    return Buffer.concat([PNG_SIGNATURE, ihdr(width, height), pngChunk("IDAT", idat), pngChunk("IEND", Buffer.alloc(0))]);
}

/** A real decompression bomb: a valid `side` x `side` black RGB PNG (12000: 410 KB on disk, 432 MB of pixels). */
export async function blackPngBomb(side = 12000): Promise<Buffer> {
    const deflate = createDeflate({ level: 9 });
    const parts: Buffer[] = [];
    deflate.on("data", (d: Buffer) => parts.push(d));
    const done = new Promise((resolve) => deflate.on("end", resolve));
    const row = Buffer.alloc(1 + side * 3); // filter byte 0, then black pixels
    for (let y = 0; y < side; y++) if (!deflate.write(row)) await new Promise((r) => deflate.once("drain", r));
    deflate.end();
    await done;
    return pngWithHeader(side, side, Buffer.concat(parts));
}

async function smallPng(): Promise<Buffer> {
    const w = 48,
        h = 32,
        rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 256;
    return sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toBuffer();
}

/** Images every front end must refuse with a clear message. */
export async function hostileImages(): Promise<{ name: string; bytes: Buffer; message: RegExp }[]> {
    const png = await smallPng();
    const jpg = await sharp(png).jpeg().toBuffer();
    return [
        {
            name: "12000x12000 black PNG (decompression bomb)",
            bytes: await blackPngBomb(),
            message: /12000x12000 pixels; at most 50000000 pixels/,
        },
        { name: "65535x65535 declared in the header", bytes: pngWithHeader(65535, 65535, Buffer.alloc(16)), message: /65535x65535 pixels/ },
        {
            name: "0x0 declared in the header",
            bytes: pngWithHeader(0, 0, Buffer.alloc(16)),
            message: /could not be decoded|declares no pixels|not an image/,
        },
        { name: "truncated PNG", bytes: png.subarray(0, Math.floor(png.length / 2)), message: /could not be decoded/ },
        { name: "truncated JPEG", bytes: jpg.subarray(0, Math.floor(jpg.length / 2)), message: /could not be decoded/ },
        {
            name: "SVG",
            bytes: Buffer.from(
                '<svg xmlns="http://www.w3.org/2000/svg" width="30000" height="30000"><rect width="100%" height="100%"/></svg>',
            ),
            message: /is SVG: send a raster image/,
        },
        { name: "a text file", bytes: Buffer.from("this is not an image\n".repeat(20)), message: /not an image autoglm can read/ },
    ];
}

/** A two-frame animated GIF: valid, its first frame is used. */
export async function animatedGif(): Promise<Buffer> {
    const frame = (red: number) =>
        sharp({ create: { width: 40, height: 24, channels: 3, background: { r: red, g: 0, b: 0 } } })
            .png()
            .toBuffer();
    return sharp([await frame(10), await frame(200)], { join: { animated: true } })
        .gif()
        .toBuffer();
}

/** A seeded generator (mulberry32, shared with the synthetic checkpoints), so a fuzz run is the same run every time. */
export const seeded = mulberry32;

const INTERESTING = [
    0, 1, 2, 3, 4, 7, 8, 9, 16, 24, 32, 64, 255, 256, 1000, 8000, 16000, 44100, 65535, 65536, 192000, 192001, 0x7fffffff, 0xffffffff,
];

/** `n` mutations of a valid WAV: header fields set to edge values, bytes flipped, cuts. */
export function fuzzWavs(seed: number, n: number): Buffer[] {
    const rnd = seeded(seed),
        pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const base = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 0.3, 440)]);
    const fields: [number, 2 | 4][] = [
        [4, 4],
        [16, 4],
        [20, 2],
        [22, 2],
        [24, 4],
        [28, 4],
        [32, 2],
        [34, 2],
        [40, 4],
    ];
    return Array.from({ length: n }, () => {
        let b = Buffer.from(base);
        for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
            const what = rnd();
            if (what < 0.6) {
                const [at, size] = pick(fields),
                    v = rnd() < 0.7 ? pick(INTERESTING) : Math.floor(rnd() * 2 ** (8 * size));
                if (size === 2) b.writeUInt16LE(v & 0xffff, at);
                else b.writeUInt32LE(v >>> 0, at);
            } else if (what < 0.85) {
                b[Math.floor(rnd() * 48)] ^= 1 << Math.floor(rnd() * 8);
            } else {
                b = b.subarray(0, Math.floor(rnd() * b.length));
            }
        }
        return b;
    });
}

/** `n` mutations of small valid PNG, JPEG, GIF and WebP files: declared sizes, flipped header bytes, cuts. */
export async function fuzzImages(seed: number, n: number): Promise<Buffer[]> {
    const rnd = seeded(seed),
        pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const png = await smallPng();
    const bases = [png, await sharp(png).jpeg().toBuffer(), await sharp(png).gif().toBuffer(), await sharp(png).webp().toBuffer()];
    const sides = [0, 1, 2, 28, 4096, 12000, 16384, 65535, 0x7fffffff, 0xffffffff];
    return Array.from({ length: n }, () => {
        let b = Buffer.from(pick(bases));
        for (let k = 1 + Math.floor(rnd() * 2); k > 0; k--) {
            const what = rnd();
            if (what < 0.3 && b.subarray(12, 16).toString("latin1") === "IHDR") {
                // A PNG that declares another size, with a valid CRC so the header is believed.
                const d = Buffer.from(b.subarray(16, 29));
                d.writeUInt32BE(pick(sides) >>> 0, 0);
                d.writeUInt32BE(pick(sides) >>> 0, 4);
                b = Buffer.concat([b.subarray(0, 8), pngChunk("IHDR", d), b.subarray(33)]);
            } else if (what < 0.75) {
                b[Math.floor(rnd() * Math.min(64, b.length))] ^= 1 << Math.floor(rnd() * 8);
            } else {
                b = b.subarray(0, Math.floor(rnd() * b.length));
            }
        }
        return b;
    });
}
