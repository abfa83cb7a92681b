// Writes WAV files of any layout the tests need (PCM 8/16/24/32, float 32, extensible, other tags).
export interface WavSpec {
    rate: number;
    channels: number;
    bits: 8 | 16 | 24 | 32;
    float?: boolean;
    extensible?: boolean;
    formatTag?: number;
}

export function encodeWav(spec: WavSpec, channels: Float32Array[]): Buffer {
    const frames = channels[0].length;
    const bytes = spec.bits / 8;
    const dataLen = frames * spec.channels * bytes;
    const fmtLen = spec.extensible ? 40 : 16;
    const b = Buffer.alloc(12 + 8 + fmtLen + 8 + dataLen);
    b.write("RIFF", 0);
    b.writeUInt32LE(b.length - 8, 4);
    b.write("WAVE", 8);
    b.write("fmt ", 12);
    b.writeUInt32LE(fmtLen, 16);
    const tag = spec.formatTag ?? (spec.extensible ? 0xfffe : spec.float ? 3 : 1);
    b.writeUInt16LE(tag, 20);
    b.writeUInt16LE(spec.channels, 22);
    b.writeUInt32LE(spec.rate, 24);
    b.writeUInt32LE(spec.rate * spec.channels * bytes, 28);
    b.writeUInt16LE(spec.channels * bytes, 32);
    b.writeUInt16LE(spec.bits, 34);
    if (spec.extensible) {
        b.writeUInt16LE(22, 36);
        b.writeUInt16LE(spec.bits, 38);
        b.writeUInt32LE(0, 40);
        b.writeUInt16LE(spec.float ? 3 : 1, 44);
        Buffer.from("000000001000800000aa00389b71", "hex").copy(b, 46);
    }
    let o = 12 + 8 + fmtLen;
    b.write("data", o);
    b.writeUInt32LE(dataLen, o + 4);
    o += 8;
    for (let i = 0; i < frames; i++) {
        for (let c = 0; c < spec.channels; c++) {
            const v = Math.max(-1, Math.min(1, channels[c][i]));
            if (spec.float) b.writeFloatLE(v, o);
            else if (spec.bits === 8) b.writeUInt8(Math.round(v * 127) + 128, o);
            else if (spec.bits === 16) b.writeInt16LE(Math.round(v * 32767), o);
            else if (spec.bits === 24) b.writeIntLE(Math.round(v * 8388607), o, 3);
            else b.writeInt32LE(Math.round(v * 2147483647), o);
            o += bytes;
        }
    }
    return b;
}

export function tone(rate: number, seconds: number, hz: number, amplitude = 0.5): Float32Array {
    const n = Math.round(rate * seconds);
    return Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

/** Amplitude of the `hz` component (Goertzel), ignoring `skip` samples at each end. */
export function amplitudeAt(x: Float32Array, rate: number, hz: number, skip = 200): number {
    const s = x.subarray(skip, x.length - skip);
    let re = 0,
        im = 0;
    for (let i = 0; i < s.length; i++) {
        const a = (2 * Math.PI * hz * i) / rate;
        re += s[i] * Math.cos(a);
        im -= s[i] * Math.sin(a);
    }
    return (2 * Math.hypot(re, im)) / s.length;
}
