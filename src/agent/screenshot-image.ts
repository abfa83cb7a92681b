// Screenshot bytes: the size a PNG declares (read from its header, no decode), the black stand-in
// Open-AutoGLM sends when a screen cannot be captured, and HarmonyOS's JPEG turned into PNG.

import type { Screenshot } from "./device.js";
import { DeviceError } from "./tool.js";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(b: Buffer): boolean {
    return b.length >= 24 && b.subarray(0, 8).equals(PNG_SIGNATURE) && b.toString("latin1", 12, 16) === "IHDR";
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(b: Buffer): { width: number; height: number } {
    if (!isPng(b)) throw new DeviceError("the screenshot is not a PNG image");
    const width = b.readUInt32BE(16);
    const height = b.readUInt32BE(20);
    if (!width || !height || width > 20_000 || height > 20_000)
        throw new DeviceError(`the screenshot declares an impossible size ${width}x${height}`);
    return { width, height };
}

/** Upstream's fallback size: a 1080x2400 black image. */
export const FALLBACK_WIDTH = 1080;
export const FALLBACK_HEIGHT = 2400;

let black: Promise<Buffer> | undefined;

/** The black 1080x2400 PNG (made once). */
export function blackPng(): Promise<Buffer> {
    black ??= import("sharp").then(({ default: sharp }) =>
        sharp({ create: { width: FALLBACK_WIDTH, height: FALLBACK_HEIGHT, channels: 3, background: { r: 0, g: 0, b: 0 } } })
            .png()
            .toBuffer(),
    );
    return black;
}

/** Upstream's stand-in for a screen that could not be captured: the black image, and why. */
export async function fallbackScreenshot(why: string, sensitive: boolean): Promise<Screenshot> {
    return { png: await blackPng(), width: FALLBACK_WIDTH, height: FALLBACK_HEIGHT, sensitive, fallback: why };
}

/** Any image sharp reads (HarmonyOS screenshots are JPEG) as PNG, with its size. */
export async function toPng(bytes: Buffer): Promise<{ png: Buffer; width: number; height: number }> {
    const { default: sharp } = await import("sharp");
    try {
        const { data, info } = await sharp(bytes).png().toBuffer({ resolveWithObject: true });
        return { png: data, width: info.width, height: info.height };
    } catch (e) {
        throw new DeviceError(`the screenshot could not be decoded: ${(e as Error).message}`);
    }
}
