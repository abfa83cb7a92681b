// Where a request's images and audio come from: data: URLs and bare base64; remote URLs and local
// paths are refused unless the server was started with the flag that allows them (no server-side
// request forgery, no reading the server's files by default).

import { readFile } from "node:fs/promises";
import { ApiError } from "./errors.js";

/** Where a request's media may come from (decoding them is the runtime's media policy). */
export interface MediaSources {
    allowRemote: boolean;
    allowLocal: boolean;
    maxRemoteBytes: number;
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

function base64(data: string, what: string): Buffer {
    const clean = data.trim();
    if (clean.length === 0 || !BASE64.test(clean)) throw new ApiError(400, `the ${what} is not valid base64`, "invalid_base64");
    return Buffer.from(clean, "base64");
}

/** The bytes an image_url (or composite "image") names; `signal`: the request's cancellation. */
export async function imageBytes(url: string, policy: MediaSources, signal?: AbortSignal): Promise<Buffer> {
    const data = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(url);
    if (data) {
        if (!data[2]) throw new ApiError(400, "only base64 data: URLs are accepted for images", "invalid_image");
        return base64(data[3]!, "image data");
    }
    if (/^https?:\/\//i.test(url)) {
        if (!policy.allowRemote)
            throw new ApiError(
                400,
                "remote image URLs are refused by this server (start it with --allow-remote-media); send the image as a base64 data: URL",
                "remote_media_refused",
            );
        let res: Response;
        try {
            const timeout = AbortSignal.timeout(20_000);
            res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: "follow" });
        } catch (e) {
            throw new ApiError(400, `could not fetch ${url}: ${(e as Error).message}`, "invalid_image");
        }
        if (!res.ok) throw new ApiError(400, `could not fetch ${url}: HTTP ${res.status}`, "invalid_image");
        const bytes = Buffer.from(await res.arrayBuffer());
        if (bytes.length > policy.maxRemoteBytes)
            throw new ApiError(400, `${url} is larger than ${policy.maxRemoteBytes} bytes`, "invalid_image");
        return bytes;
    }
    if (/^file:\/\//i.test(url) || url.startsWith("/") || url.startsWith(".")) {
        if (!policy.allowLocal)
            throw new ApiError(
                400,
                "local file paths are refused by this server (start it with --allow-local-media)",
                "local_media_refused",
            );
        try {
            return await readFile(url.replace(/^file:\/\//i, ""));
        } catch (e) {
            throw new ApiError(400, `cannot read ${url}: ${(e as Error).message}`, "invalid_image");
        }
    }
    return base64(url, "image"); // bare base64, as Open-AutoGLM's agent and the seed article send it
}

/** The WAV bytes an input_audio part carries. */
export function audioBytes(data: string, format: string | undefined): Buffer {
    const fmt = (format ?? "wav").toLowerCase();
    if (fmt !== "wav")
        throw new ApiError(400, `${fmt} audio is not supported: send WAV (8/16/24/32-bit PCM or float)`, "unsupported_audio_format");
    return base64(data, "audio data");
}
