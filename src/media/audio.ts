// Audio input: WAV (8/16/24/32-bit integer, 32/64-bit float, plain or WAVE_FORMAT_EXTENSIBLE),
// checked from its header against the media policy's limits before any sample is read, then mixed
// down to mono and resampled to the encoder's rate in a worker thread (off the event loop).

import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { InternalError, UserError } from "../core/errors.js";
import { wavToMono, type WavLayout } from "./wav-samples.js";

export interface MonoAudio {
    sampleRate: number;
    samples: Float32Array;
    seconds: number;
    sourceRate: number;
    channels: number;
}

/** What a WAV may declare (the media policy's values; src/engine/media-policy.ts). */
export interface WavLimits {
    maxChannels: number;
    minRate: number;
    maxRate: number;
    maxSeconds: number;
    minSeconds: number;
    maxDecodedBytes: number;
}

/** A header that passed the limits: the layout, its duration and the bytes decoding it will allocate. */
export interface WavHeader extends WavLayout {
    seconds: number;
    decodedBytes: number;
}

const PCM_GUID_TAIL = "000000001000800000aa00389b71"; // KSDATAFORMAT_SUBTYPE_* GUIDs end like this
/** Chunks walked before the data chunk: real files carry a handful (fmt, LIST, fact, bext...). */
const MAX_CHUNKS = 1024;
const ENCODINGS: Record<number, string> = {
    2: "ADPCM",
    6: "A-law",
    7: "mu-law",
    17: "IMA ADPCM",
    85: "MP3",
    65534: "extensible with a non-PCM sub-format",
};

/**
 * Reads and checks the RIFF header: container, encoding, channels, rate, block alignment, data
 * size and duration, so that a file declaring 0 channels, a 1 Hz rate or a 4 GB data chunk is a
 * clear error before anything is allocated for it.
 */
export function readWavHeader(buf: Buffer, name: string, limits: WavLimits, targetRate = 16000): WavHeader {
    if (buf.length === 0) throw new UserError(`${name} is empty`);
    if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") {
        const hint =
            buf.toString("ascii", 4, 8) === "ftyp" || buf.toString("ascii", 0, 3) === "ID3" || buf[0] === 0xff
                ? " (it looks like MP3/MP4/AAC: convert it to WAV first, e.g. ffmpeg -i in -ar 16000 out.wav)"
                : "";
        throw new UserError(`${name} is not a WAV file${hint}`);
    }
    let off = 12,
        fmt = -1,
        fmtSize = 0,
        data = -1,
        dataSize = 0;
    for (let n = 0; off + 8 <= buf.length && data < 0; n++) {
        if (n >= MAX_CHUNKS) throw new UserError(`${name}: more than ${MAX_CHUNKS} RIFF chunks before the audio data`);
        const id = buf.toString("ascii", off, off + 4);
        const size = buf.readUInt32LE(off + 4);
        if (id === "fmt " && fmt < 0) {
            fmt = off;
            fmtSize = size;
        }
        if (id === "data") {
            data = off + 8;
            dataSize = size;
        }
        off += 8 + size + (size & 1);
    }
    if (fmt < 0 || fmtSize < 16 || fmt + 8 + 16 > buf.length) throw new UserError(`${name}: WAV file without a valid format chunk`);
    if (data < 0) throw new UserError(`${name}: WAV file without audio data`);
    if (data + dataSize > buf.length) throw new UserError(`${name}: the WAV data is truncated (${buf.length - data} of ${dataSize} bytes)`);
    let tag = buf.readUInt16LE(fmt + 8);
    if (tag === 0xfffe && fmtSize >= 40 && fmt + 8 + 40 <= buf.length) {
        const sub = buf.readUInt16LE(fmt + 8 + 24);
        if ((sub === 1 || sub === 3) && buf.subarray(fmt + 8 + 26, fmt + 8 + 40).toString("hex") === PCM_GUID_TAIL) tag = sub;
    }
    if (tag !== 1 && tag !== 3)
        throw new UserError(
            `${name}: unsupported WAV encoding ${ENCODINGS[tag] ?? `0x${tag.toString(16)}`} (use 8/16/24/32-bit PCM or float)`,
        );
    const channels = buf.readUInt16LE(fmt + 10),
        rate = buf.readUInt32LE(fmt + 12),
        blockAlign = buf.readUInt16LE(fmt + 20),
        bits = buf.readUInt16LE(fmt + 22);
    const float = tag === 3;
    if (channels < 1 || channels > limits.maxChannels)
        throw new UserError(`${name}: the WAV declares ${channels} channels (1 to ${limits.maxChannels} are accepted)`);
    if (rate < limits.minRate || rate > limits.maxRate)
        throw new UserError(
            `${name}: the WAV declares a sample rate of ${rate} Hz (${limits.minRate} to ${limits.maxRate} Hz are accepted)`,
        );
    if (!(float ? [32, 64] : [8, 16, 24, 32]).includes(bits))
        throw new UserError(
            `${name}: unsupported WAV sample size: ${bits}-bit ${float ? "float" : "PCM"} (use 8/16/24/32-bit PCM or 32/64-bit float)`,
        );
    if (blockAlign !== (channels * bits) / 8)
        throw new UserError(`${name}: the WAV header is inconsistent (block align ${blockAlign} for ${channels} channels of ${bits} bits)`);
    const frames = Math.floor(dataSize / blockAlign);
    if (frames === 0) throw new UserError(`${name} holds no audio samples`);
    const seconds = frames / rate;
    if (seconds > limits.maxSeconds)
        throw new UserError(`${name} is ${seconds.toFixed(1)} s long; at most ${limits.maxSeconds} s are accepted`);
    if (seconds < limits.minSeconds)
        throw new UserError(`${name} is too short (${frames} samples at ${rate} Hz; at least ${limits.minSeconds} s)`);
    const decodedBytes = 4 * (frames + Math.floor((frames * targetRate) / rate));
    if (decodedBytes > limits.maxDecodedBytes)
        throw new UserError(`${name} would decode to ${decodedBytes} bytes; at most ${limits.maxDecodedBytes} are accepted`);
    return { dataOffset: data, frames, channels, bits, float, rate, seconds, decodedBytes };
}

/** The compiled worker (absent when running from TypeScript source: the tests of this module). */
const WORKER = new URL("./audio-worker.js", import.meta.url);
const hasWorker = existsSync(fileURLToPath(WORKER));

function decodeInWorker(bytes: Buffer, layout: WavLayout, targetRate: number, signal?: AbortSignal): Promise<Float32Array> {
    if (!hasWorker) return Promise.resolve(wavToMono(bytes, layout, targetRate));
    if (signal?.aborted) return Promise.reject(new UserError("the request was cancelled"));
    // The worker gets its own copy of the sample bytes only (a Buffer may share a pooled ArrayBuffer).
    const own = new Uint8Array(bytes.subarray(layout.dataOffset, layout.dataOffset + layout.frames * layout.channels * (layout.bits / 8)));
    return new Promise((resolve, reject) => {
        const worker = new Worker(WORKER, {
            workerData: { bytes: own, layout: { ...layout, dataOffset: 0 }, targetRate },
            transferList: [own.buffer],
        });
        let done = false;
        const onAbort = () => {
            void worker.terminate();
            finish(() => reject(new UserError("the request was cancelled")));
        };
        const finish = (f: () => void) => {
            if (done) return;
            done = true;
            signal?.removeEventListener("abort", onAbort);
            f();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        worker.once("message", (samples: Float32Array) => finish(() => resolve(samples)));
        worker.once("error", (e) => finish(() => reject(new InternalError(`the audio decoder failed: ${e.message}`))));
        worker.once("exit", (code) => finish(() => reject(new InternalError(`the audio decoder stopped (exit code ${code})`))));
    });
}

export async function decodeWav(
    input: string | Buffer,
    opts: { limits: WavLimits; targetRate?: number; signal?: AbortSignal; name?: string },
): Promise<MonoAudio> {
    const targetRate = opts.targetRate ?? 16000;
    const name = opts.name ?? (typeof input === "string" ? input : "the audio");
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
    const header = readWavHeader(buf, name, opts.limits, targetRate);
    const samples = await decodeInWorker(buf, header, targetRate, opts.signal);
    return { sampleRate: targetRate, samples, seconds: header.seconds, sourceRate: header.rate, channels: header.channels };
}
