// Media as a remote engine takes them in a chat request: images as data: URLs with the type their
// bytes show (not their file name), audio as OpenAI's input_audio with its format (wav or mp3, the
// two that OpenAI, llama-server and vLLM all accept). Nothing is decoded here: the server decodes,
// scales and checks, under its own limits.

import { readFile } from "node:fs/promises";
import { UserError } from "../core/errors.js";
import type { MediaSource } from "../engine/turn.js";

/** The image type its first bytes show, or undefined. */
export function imageMime(b: Uint8Array): string | undefined {
    const ascii = (from: number, to: number) => Buffer.from(b.subarray(from, to)).toString("latin1");
    if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === "PNG") return "image/png";
    if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
    if (b.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
    if (b.length >= 6 && (ascii(0, 6) === "GIF87a" || ascii(0, 6) === "GIF89a")) return "image/gif";
    if (b.length >= 2 && ascii(0, 2) === "BM") return "image/bmp";
    return undefined;
}

/** input_audio's format for these bytes, or undefined. */
export function audioFormat(b: Uint8Array): "wav" | "mp3" | undefined {
    const ascii = (from: number, to: number) => Buffer.from(b.subarray(from, to)).toString("latin1");
    if (b.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "wav";
    if (b.length >= 3 && ascii(0, 3) === "ID3") return "mp3";
    if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0) return "mp3"; // an MPEG audio frame (layer set)
    return undefined;
}

/** The bytes of one media item: a file (the user's), bytes in memory, or a loader that honours the signal. */
export async function mediaBytes(
    source: MediaSource,
    kind: "image" | "audio",
    signal?: AbortSignal,
): Promise<{ bytes: Buffer; name: string }> {
    if ("path" in source) {
        try {
            return { bytes: await readFile(source.path, { signal }), name: source.path };
        } catch (e) {
            if (signal?.aborted) throw e;
            throw new UserError(`cannot read ${source.path}: ${(e as Error).message}`);
        }
    }
    const bytes = "bytes" in source ? source.bytes : await source.load(signal ?? new AbortController().signal);
    return { bytes, name: `the ${kind}` };
}

export async function imagePart(source: MediaSource, signal?: AbortSignal) {
    const { bytes, name } = await mediaBytes(source, "image", signal);
    const mime = imageMime(bytes);
    if (!mime) throw new UserError(`${name} is not an image a remote engine takes (PNG, JPEG, WebP, GIF or BMP)`);
    return { type: "image_url", image_url: { url: `data:${mime};base64,${bytes.toString("base64")}` } } as const;
}

export async function audioPart(source: MediaSource, signal?: AbortSignal) {
    const { bytes, name } = await mediaBytes(source, "audio", signal);
    const format = audioFormat(bytes);
    if (!format)
        throw new UserError(`${name} is not WAV or MP3 audio, the formats a remote engine takes (convert it, e.g. ffmpeg -i in out.wav)`);
    return { type: "input_audio", input_audio: { data: bytes.toString("base64"), format } } as const;
}
