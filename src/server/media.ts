// Where a request's images and audio come from: data: URLs and bare base64; remote URLs and local
// paths are refused unless the server was started with the flag that allows them, and then read
// under their own rules (remote-media.ts: no server-side request forgery; local-media.ts: one
// folder, regular files only).

import type { MediaSource } from "../engine/turn.js";
import { ApiError } from "./errors.js";
import { isLocalReference, readLocalMedia } from "./local-media.js";
import { fetchRemoteMedia } from "./remote-media.js";

/** Where a request's media may come from (decoding them is the runtime's media policy). */
export interface MediaSources {
    /** The real path of the one folder local paths may name (--allow-local-media DIR); undefined: refused. */
    localFolder?: string;
    /** Remote image URLs are fetched (--allow-remote-media), these hosts whatever their address; undefined: refused. */
    remote?: { allowedHosts: readonly string[] };
    /** The most bytes one request's images may give together (URLs and paths are refused past it). */
    maxBytes: number;
    /** The most a remote image may take, redirects and body included. */
    timeoutMs: number;
    /** Why a remote URL was refused, for the server log (the client gets one message for all). */
    onRefusal?: (line: string) => void;
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

function base64(data: string, what: string): Buffer {
    const clean = data.trim();
    if (clean.length === 0 || !BASE64.test(clean)) throw new ApiError(400, `the ${what} is not valid base64`, "invalid_base64");
    return Buffer.from(clean, "base64");
}

/** The bytes an image_url (or composite "image") names; `signal`: the client went away, stop reading. */
export async function imageBytes(url: string, policy: MediaSources, signal?: AbortSignal): Promise<Buffer> {
    const data = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(url);
    if (data) {
        if (!data[2]) throw new ApiError(400, "only base64 data: URLs are accepted for images", "invalid_image");
        return base64(data[3]!, "image data");
    }
    if (/^https?:\/\//i.test(url)) {
        if (!policy.remote)
            throw new ApiError(
                400,
                "remote image URLs are refused by this server (start it with --allow-remote-media); send the image as a base64 data: URL",
                "remote_media_refused",
            );
        return fetchRemoteMedia(
            url,
            {
                allowedHosts: policy.remote.allowedHosts,
                maxBytes: policy.maxBytes,
                timeoutMs: policy.timeoutMs,
                onRefusal: policy.onRefusal,
            },
            signal,
        );
    }
    if (isLocalReference(url)) {
        if (!policy.localFolder)
            throw new ApiError(
                400,
                "local file paths are refused by this server (start it with --allow-local-media DIR)",
                "local_media_refused",
            );
        return readLocalMedia(url, policy.localFolder, policy.maxBytes, signal);
    }
    return base64(url, "image"); // bare base64, as Open-AutoGLM's agent and the seed article send it
}

/** What each request's images gave so far, by the request's cancellation signal (one per turn). */
const spent = new WeakMap<AbortSignal, number>();

/**
 * An image part's source: read when the turn asks, under `policy`, the size cap counted per request
 * (its turn's signal), not per image; a stored conversation's images read again by a later request
 * count against that request.
 */
export function imageSource(url: string, policy: MediaSources): MediaSource {
    return {
        load: async (signal) => {
            const bytes = await imageBytes(url, { ...policy, maxBytes: Math.max(0, policy.maxBytes - (spent.get(signal) ?? 0)) }, signal);
            spent.set(signal, (spent.get(signal) ?? 0) + bytes.length);
            return bytes;
        },
    };
}

/** The WAV bytes an input_audio part carries. */
export function audioBytes(data: string, format: string | undefined): Buffer {
    const fmt = (format ?? "wav").toLowerCase();
    if (fmt !== "wav")
        throw new ApiError(400, `${fmt} audio is not supported: send WAV (8/16/24/32-bit PCM or float)`, "unsupported_audio_format");
    return base64(data, "audio data");
}
