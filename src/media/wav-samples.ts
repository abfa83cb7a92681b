// WAV sample data (already checked by readWavHeader) to mono float PCM at the encoder's rate: the
// channels are averaged as they are read, then resampled. Pure CPU work, run in audio-worker.ts.

import { resample } from "./resample.js";

/** The layout readWavHeader found: where the samples are and how they are stored. */
export interface WavLayout {
    dataOffset: number;
    frames: number;
    channels: number;
    bits: number;
    float: boolean;
    rate: number;
}

/** 8-bit is unsigned around 128; integer samples scale to [-1, 1] (negative by 2^(n-1), positive by 2^(n-1) - 1). */
function sampleReader(view: DataView, bits: number, float: boolean): (at: number) => number {
    if (float) return bits === 64 ? (at) => view.getFloat64(at, true) : (at) => view.getFloat32(at, true);
    switch (bits) {
        case 8:
            return (at) => {
                const v = view.getUint8(at) - 128;
                return v < 0 ? v / 128 : v / 127;
            };
        case 16:
            return (at) => {
                const v = view.getInt16(at, true);
                return v < 0 ? v / 32768 : v / 32767;
            };
        case 24:
            return (at) => {
                const u = view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getUint8(at + 2) << 16);
                const v = u >= 0x800000 ? u - 0x1000000 : u;
                return v < 0 ? v / 8388608 : v / 8388607;
            };
        default:
            return (at) => {
                const v = view.getInt32(at, true);
                return v < 0 ? v / 2147483648 : v / 2147483647;
            };
    }
}

export function wavToMono(bytes: Uint8Array, layout: WavLayout, targetRate: number): Float32Array {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const read = sampleReader(view, layout.bits, layout.float);
    const step = layout.bits / 8;
    const mono = new Float32Array(layout.frames);
    for (let i = 0, at = layout.dataOffset; i < layout.frames; i++) {
        let acc = 0;
        for (let c = 0; c < layout.channels; c++, at += step) acc += read(at);
        mono[i] = acc / layout.channels;
    }
    return layout.rate === targetRate ? mono : resample(mono, layout.rate, targetRate);
}
