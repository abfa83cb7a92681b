// Block quantizers of 32 values, bit-identical to ggml's quantize_row_q8_0_ref, _q4_0_ref,
// _q5_0_ref and _q5_1_ref (Q5_0 / Q5_1 are llama-quantize's fallbacks for Q4_K / Q5_K rows that
// are not a multiple of 256).
// Every intermediate is rounded to float32 with Math.fround, because the reference computes in
// float: for +, -, *, / a double result rounded once to float32 equals the float32 operation.

import { fp32ToFp16Bits } from "./float.js";

export const QK = 32;
const fround = Math.fround;

/** C roundf: halves away from zero. */
function roundf(v: number): number {
    return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/** C's (int8_t) cast of a float as x86-64 code does it: truncate to int32 (cvttss2si gives INT32_MIN
 * for NaN, infinities and out-of-range values), then keep the low byte as a signed value.
 * Only reachable when 1/d overflows (subnormal scales); normal data stays in 0..16. */
function int8Cast(v: number): number {
    let t = Math.trunc(v);
    if (!(t >= -2147483648 && t <= 2147483647)) t = -2147483648;
    return (t << 24) >> 24;
}

/** Q8_0: per block an fp16 scale d = amax/127 and 32 int8 values round(x/d). 34 bytes per block. */
export function quantizeQ8_0(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
    if (src.length % QK !== 0) throw new Error(`q8_0 needs a multiple of ${QK} values, got ${src.length}`);
    let o = dstOffset;
    for (let b = 0; b < src.length; b += QK) {
        let amax = 0;
        for (let j = 0; j < QK; j++) {
            const a = Math.abs(src[b + j]);
            if (a > amax) amax = a; // MAX(amax, |v|): a NaN never replaces amax, as in C
        }
        const d = fround(amax / 127);
        const id = d ? fround(1 / d) : 0;
        const h = fp32ToFp16Bits(d);
        dst[o] = h & 0xff;
        dst[o + 1] = h >>> 8;
        if (id !== Infinity) {
            // |x * id| <= 127: the rounded value is already a valid int8.
            for (let j = 0; j < QK; j++) dst[o + 2 + j] = roundf(fround(src[b + j] * id)) & 0xff;
        } else {
            for (let j = 0; j < QK; j++) dst[o + 2 + j] = int8Cast(roundf(fround(src[b + j] * id))) & 0xff;
        }
        o += 34;
    }
}

/** The block's value of largest magnitude, sign kept (the first such one, as ggml's loop keeps it). */
function signedAbsMax(src: Float32Array, b: number): number {
    let amax = 0,
        max = 0;
    for (let j = 0; j < QK; j++) {
        const v = src[b + j];
        const a = Math.abs(v);
        if (amax < a) {
            amax = a;
            max = v;
        }
    }
    return max;
}

/** Q4_0: per block an fp16 scale d = max/-8 (max = value of largest magnitude, sign kept) and
 * 32 nibbles min(15, trunc(x/d + 8.5)); element j in the low nibble of byte j, j+16 in the high. */
export function quantizeQ4_0(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
    if (src.length % QK !== 0) throw new Error(`q4_0 needs a multiple of ${QK} values, got ${src.length}`);
    let o = dstOffset;
    for (let b = 0; b < src.length; b += QK) {
        const max = signedAbsMax(src, b);
        const d = fround(max / -8);
        const id = d ? fround(1 / d) : 0;
        const h = fp32ToFp16Bits(d);
        dst[o] = h & 0xff;
        dst[o + 1] = h >>> 8;
        if (id !== Infinity && id !== -Infinity) {
            // |x * id| <= 8 (plus rounding), so x*id + 8.5 lies in (0, 17): a plain truncation.
            for (let j = 0; j < QK / 2; j++) {
                const xi0 = fround(fround(src[b + j] * id) + 8.5) | 0;
                const xi1 = fround(fround(src[b + QK / 2 + j] * id) + 8.5) | 0;
                dst[o + 2 + j] = Math.min(xi0, 15) | (Math.min(xi1, 15) << 4);
            }
        } else {
            for (let j = 0; j < QK / 2; j++) {
                const xi0 = Math.min(15, int8Cast(fround(fround(src[b + j] * id) + 8.5)));
                const xi1 = Math.min(15, int8Cast(fround(fround(src[b + QK / 2 + j] * id) + 8.5)));
                dst[o + 2 + j] = (xi0 & 0xff) | ((xi1 & 0xff) << 4);
            }
        }
        o += 18;
    }
}

/** The high-bit word of Q5_0 / Q5_1: bit j holds bit 4 of level j. */
function writeQh(dst: Uint8Array, o: number, qh: number): void {
    dst[o] = qh & 0xff;
    dst[o + 1] = (qh >>> 8) & 0xff;
    dst[o + 2] = (qh >>> 16) & 0xff;
    dst[o + 3] = qh >>> 24;
}

/** Q5_0: fp16 d = max/-16 (max = value of largest magnitude, sign kept), 4 bytes of fifth bits,
 * 16 bytes of nibbles; levels min(31, (int8_t)(x/d + 16.5)). 22 bytes per block. */
export function quantizeQ5_0(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
    if (src.length % QK !== 0) throw new Error(`q5_0 needs a multiple of ${QK} values, got ${src.length}`);
    let o = dstOffset;
    for (let b = 0; b < src.length; b += QK) {
        const max = signedAbsMax(src, b);
        const d = fround(max / -16);
        const id = d !== 0 ? fround(1 / d) : 0;
        const h = fp32ToFp16Bits(d);
        dst[o] = h & 0xff;
        dst[o + 1] = h >>> 8;
        let qh = 0;
        for (let j = 0; j < QK / 2; j++) {
            const xi0 = Math.min(31, int8Cast(fround(fround(src[b + j] * id) + 16.5))) & 0xff;
            const xi1 = Math.min(31, int8Cast(fround(fround(src[b + QK / 2 + j] * id) + 16.5))) & 0xff;
            dst[o + 6 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
            qh |= ((xi0 & 0x10) >> 4) << j;
            qh |= ((xi1 & 0x10) >> 4) << (j + QK / 2);
        }
        writeQh(dst, o + 2, qh >>> 0);
        o += 22;
    }
}

/** Q5_1: fp16 d = (max - min)/31 and fp16 m = min, 4 bytes of fifth bits, 16 bytes of nibbles;
 * levels (uint8_t)((x - min)/d + 0.5). 24 bytes per block. */
export function quantizeQ5_1(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
    if (src.length % QK !== 0) throw new Error(`q5_1 needs a multiple of ${QK} values, got ${src.length}`);
    const FLT_MAX = 3.4028234663852886e38;
    let o = dstOffset;
    for (let b = 0; b < src.length; b += QK) {
        let min = FLT_MAX;
        let max = -FLT_MAX;
        for (let j = 0; j < QK; j++) {
            const v = src[b + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        const d = fround(fround(max - min) / 31);
        const id = d !== 0 ? fround(1 / d) : 0;
        const hd = fp32ToFp16Bits(d),
            hm = fp32ToFp16Bits(min);
        dst[o] = hd & 0xff;
        dst[o + 1] = hd >>> 8;
        dst[o + 2] = hm & 0xff;
        dst[o + 3] = hm >>> 8;
        let qh = 0;
        for (let j = 0; j < QK / 2; j++) {
            // (uint8_t) of a float: truncated to int32 as x86-64 does, low byte kept.
            const xi0 = int8Cast(fround(fround(fround(src[b + j] - min) * id) + 0.5)) & 0xff;
            const xi1 = int8Cast(fround(fround(fround(src[b + QK / 2 + j] - min) * id) + 0.5)) & 0xff;
            dst[o + 8 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
            qh |= ((xi0 & 0x10) >> 4) << j;
            qh |= ((xi1 & 0x10) >> 4) << (j + QK / 2);
        }
        writeQh(dst, o + 4, qh >>> 0);
        o += 24;
    }
}
