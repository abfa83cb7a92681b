// Small deterministic media files for tests: a PNG made with sharp and a 16-bit PCM WAV.
import { writeFileSync } from "node:fs";
import sharp from "sharp";

export async function writeTestPng(path: string, width = 96, height = 64): Promise<void> {
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) {
        rgb[i * 3] = (i * 7) % 256;
        rgb[i * 3 + 1] = (i * 3) % 256;
        rgb[i * 3 + 2] = (i * 11) % 256;
    }
    await sharp(rgb, { raw: { width, height, channels: 3 } })
        .png()
        .toFile(path);
}

/** A mono 16-bit PCM WAV holding a sine tone. */
export function writeToneWav(path: string, seconds = 2, rate = 16000, hz = 440): void {
    const n = Math.round(seconds * rate);
    const b = Buffer.alloc(44 + n * 2);
    b.write("RIFF", 0);
    b.writeUInt32LE(36 + n * 2, 4);
    b.write("WAVE", 8);
    b.write("fmt ", 12);
    b.writeUInt32LE(16, 16);
    b.writeUInt16LE(1, 20);
    b.writeUInt16LE(1, 22);
    b.writeUInt32LE(rate, 24);
    b.writeUInt32LE(rate * 2, 28);
    b.writeUInt16LE(2, 32);
    b.writeUInt16LE(16, 34);
    b.write("data", 36);
    b.writeUInt32LE(n * 2, 40);
    for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + 2 * i);
    writeFileSync(path, b);
}
