// Audio input: WAV (8/16/24/32-bit integer, 32/64-bit float, plain or WAVE_FORMAT_EXTENSIBLE)
// decoded with wav-decoder, mixed down to mono and resampled to the encoder's rate.

import { readFile, stat } from "node:fs/promises";
import WavDecoder from "wav-decoder";
import { UserError } from "../core/errors.js";
import { resample } from "./resample.js";

export interface MonoAudio { sampleRate: number; samples: Float32Array; seconds: number; sourceRate: number; channels: number }

const PCM_GUID_TAIL = "000000001000800000aa00389b71"; // KSDATAFORMAT_SUBTYPE_* GUIDs end like this

/**
 * Walks the RIFF chunks: a clear message for other containers, truncated data and unsupported
 * encodings. wav-decoder reads format tags 1 (PCM) and 3 (float) only; WAVE_FORMAT_EXTENSIBLE
 * (0xFFFE) files carry the real tag in their sub-format GUID, rewritten (on a copy) when PCM or float.
 */
function checkedWav(buf: Buffer, name: string): Buffer {
    if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") {
        const hint = buf.toString("ascii", 4, 8) === "ftyp" || buf.toString("ascii", 0, 3) === "ID3" || buf[0] === 0xff ? " (it looks like MP3/MP4/AAC: convert it to WAV first, e.g. ffmpeg -i in -ar 16000 out.wav)" : "";
        throw new UserError(`${name} is not a WAV file${hint}`);
    }
    let off = 12;
    let fmt = -1, fmtSize = 0, data = -1;
    while (off + 8 <= buf.length) {
        const id = buf.toString("ascii", off, off + 4);
        const size = buf.readUInt32LE(off + 4);
        if (id === "fmt ") { fmt = off; fmtSize = size; }
        if (id === "data") {
            data = off;
            if (off + 8 + size > buf.length) throw new UserError(`${name}: the WAV data is truncated (${buf.length - off - 8} of ${size} bytes)`);
        }
        off += 8 + size + (size & 1);
    }
    if (fmt < 0 || fmtSize < 16 || fmt + 8 + 16 > buf.length) throw new UserError(`${name}: WAV file without a valid format chunk`);
    if (data < 0) throw new UserError(`${name}: WAV file without audio data`);
    const tag = buf.readUInt16LE(fmt + 8);
    if (tag === 0xfffe && fmtSize >= 40 && fmt + 8 + 40 <= buf.length) {
        const sub = buf.readUInt16LE(fmt + 8 + 24);
        const tail = buf.subarray(fmt + 8 + 26, fmt + 8 + 40).toString("hex");
        if ((sub === 1 || sub === 3) && tail === PCM_GUID_TAIL) {
            const copy = Buffer.from(buf);
            copy.writeUInt16LE(sub, fmt + 8);
            return copy;
        }
    }
    if (tag !== 1 && tag !== 3) {
        const names: Record<number, string> = { 2: "ADPCM", 6: "A-law", 7: "mu-law", 0x11: "IMA ADPCM", 0x55: "MP3", 0xfffe: "extensible with a non-PCM sub-format" };
        throw new UserError(`${name}: unsupported WAV encoding ${names[tag] ?? `0x${tag.toString(16)}`} (use 8/16/24/32-bit PCM or float)`);
    }
    return buf;
}

export async function decodeWav(input: string | Buffer, targetRate = 16000): Promise<MonoAudio> {
    const name = typeof input === "string" ? input : "the audio";
    if (typeof input === "string") {
        // The same one-line answers as an image path gets (src/media/image.ts).
        const s = await stat(input).catch(() => undefined);
        if (!s) throw new UserError(`audio not found: ${input}`);
        if (!s.isFile()) throw new UserError(`${input} is not a file`);
    }
    let buf: Buffer;
    try {
        buf = typeof input === "string" ? await readFile(input) : input;
    } catch (e) {
        throw new UserError(`cannot read ${name}: ${(e as Error).message}`);
    }
    if (buf.length === 0) throw new UserError(`${name} is empty`);
    buf = checkedWav(buf, name);
    let decoded: { sampleRate: number; channelData: Float32Array[] };
    try {
        decoded = await WavDecoder.decode(buf);
    } catch (e) {
        const msg = (e as Error).message;
        throw new UserError(`${name}: ${/Offset is outside|out of range|outside the bounds/i.test(msg) ? "the WAV data is truncated" : msg}`);
    }
    const channels = decoded.channelData.length;
    const frames = decoded.channelData[0]?.length ?? 0;
    if (channels === 0 || frames === 0) throw new UserError(`${name} holds no audio samples`);
    const mono = new Float32Array(frames);
    for (const ch of decoded.channelData) for (let i = 0; i < frames; i++) mono[i] += ch[i] / channels;
    const samples = resample(mono, decoded.sampleRate, targetRate);
    return { sampleRate: targetRate, samples, seconds: frames / decoded.sampleRate, sourceRate: decoded.sampleRate, channels };
}
