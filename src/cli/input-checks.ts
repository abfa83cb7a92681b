// The one-shot commands' input files, checked before any model loads (a 9B load is a minute): a
// missing image, a text file named .png or a WAV whose header lies is one line at once. The checks
// are the media policy's own header checks (src/media/), so nothing passes here that the model's
// turn would refuse for its header.

import { readFile, stat } from "node:fs/promises";
import { UserError } from "../core/errors.js";
import { IMAGE_LIMITS, WAV_LIMITS } from "../engine/media-policy.js";
import { readImageHeader } from "../media/image.js";
import { readWavHeader } from "../media/audio.js";

async function checkFile(path: string, what: string): Promise<void> {
    const s = await stat(path).catch(() => undefined);
    if (!s) throw new UserError(`${what} not found: ${path}`);
    if (!s.isFile()) throw new UserError(`${path} is not a file`);
    if (s.size === 0) throw new UserError(`${path} is empty`);
}

export async function checkImageFile(path: string, maxPixels?: number): Promise<void> {
    await checkFile(path, "image");
    await readImageHeader(path, path, { ...IMAGE_LIMITS, maxSourcePixels: Math.max(IMAGE_LIMITS.maxSourcePixels, maxPixels ?? 0) });
}

/** Returns the recording's length in seconds, from its header. */
export async function checkWavFile(path: string): Promise<number> {
    await checkFile(path, "audio");
    let buf: Buffer;
    try {
        buf = await readFile(path);
    } catch (e) {
        throw new UserError(`cannot read ${path}: ${(e as Error).message}`);
    }
    return readWavHeader(buf, path, WAV_LIMITS).seconds;
}
