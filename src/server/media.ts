// Images and audio inside requests: data: URLs and bare base64 are decoded; remote URLs and local
// paths are refused unless the server was started with the flag that allows them (no server-side
// request forgery, no reading the server's files by default).

import { readFile } from "node:fs/promises";
import { UserError } from "../core/errors.js";
import type { MediaItem } from "../engine/native.js";
import { decodeWav } from "../media/audio.js";
import { decodeImage } from "../media/image.js";
import { ApiError } from "./errors.js";

export interface MediaPolicy { allowRemote: boolean; allowLocal: boolean; maxImageTokens?: number; maxRemoteBytes: number }

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

function base64(data: string, what: string): Buffer {
    const clean = data.trim();
    if (clean.length === 0 || !BASE64.test(clean)) throw new ApiError(400, `the ${what} is not valid base64`, "invalid_base64");
    return Buffer.from(clean, "base64");
}

/** The bytes an image_url (or composite "image") names. */
async function imageBytes(url: string, policy: MediaPolicy): Promise<Buffer> {
    const data = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(url);
    if (data) {
        if (!data[2]) throw new ApiError(400, "only base64 data: URLs are accepted for images", "invalid_image");
        return base64(data[3]!, "image data");
    }
    if (/^https?:\/\//i.test(url)) {
        if (!policy.allowRemote) throw new ApiError(400, "remote image URLs are refused by this server (start it with --allow-remote-media); send the image as a base64 data: URL", "remote_media_refused");
        let res: Response;
        try {
            res = await fetch(url, { signal: AbortSignal.timeout(20_000), redirect: "follow" });
        } catch (e) {
            throw new ApiError(400, `could not fetch ${url}: ${(e as Error).message}`, "invalid_image");
        }
        if (!res.ok) throw new ApiError(400, `could not fetch ${url}: HTTP ${res.status}`, "invalid_image");
        const bytes = Buffer.from(await res.arrayBuffer());
        if (bytes.length > policy.maxRemoteBytes) throw new ApiError(400, `${url} is larger than ${policy.maxRemoteBytes} bytes`, "invalid_image");
        return bytes;
    }
    if (/^file:\/\//i.test(url) || url.startsWith("/") || url.startsWith(".")) {
        if (!policy.allowLocal) throw new ApiError(400, "local file paths are refused by this server (start it with --allow-local-media)", "local_media_refused");
        try {
            return await readFile(url.replace(/^file:\/\//i, ""));
        } catch (e) {
            throw new ApiError(400, `cannot read ${url}: ${(e as Error).message}`, "invalid_image");
        }
    }
    return base64(url, "image"); // bare base64, as Open-AutoGLM's agent and the seed article send it
}

export async function imageItem(url: string, policy: MediaPolicy): Promise<MediaItem> {
    const bytes = await imageBytes(url, policy);
    try {
        const image = await decodeImage(bytes, { maxTokens: policy.maxImageTokens });
        return { width: image.width, height: image.height, rgb: image.data };
    } catch (e) {
        if (e instanceof UserError) throw new ApiError(400, `the image could not be used: ${e.message}`, "invalid_image");
        throw e;
    }
}

export async function audioSamples(data: string, format: string | undefined): Promise<Float32Array> {
    const fmt = (format ?? "wav").toLowerCase();
    if (fmt !== "wav") throw new ApiError(400, `${fmt} audio is not supported: send WAV (8/16/24/32-bit PCM or float)`, "unsupported_audio_format");
    try {
        return (await decodeWav(base64(data, "audio data"))).samples;
    } catch (e) {
        if (e instanceof UserError) throw new ApiError(400, `the audio could not be used: ${e.message}`, "invalid_audio");
        throw e;
    }
}
