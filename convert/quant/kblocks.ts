// K-quant super-block encoders (256 values per block), bit-identical to ggml's reference
// quantizers quantize_row_q4_K_ref, quantize_row_q5_K_ref and quantize_row_q6_K_ref (what
// ggml_quantize_chunk runs without an importance matrix). Every float operation of the reference
// is mirrored in the same order and rounded to float32 with Math.fround: the reference computes in
// float, and a double result of +, -, *, /, sqrt rounded once to float32 equals the float32 result.

import { F16_TABLE, fp32ToFp16Bits } from "./float.js";

export const QK_K = 256;
export const Q4_K_BYTES = 144;
export const Q5_K_BYTES = 176;
export const Q6_K_BYTES = 210;

const fround = Math.fround;
const GROUP_MAX_EPS = fround(1e-15);

const nf32 = new Float32Array(1);
const ni32 = new Int32Array(nf32.buffer);

/** ggml's nearest_int: add 1.5 * 2^23 in float32 (round half to even) and read the mantissa bits.
 * Out of its asserted range (|v| > 4194303, NaN, infinities) the bit trick's result is kept too. */
function nearestInt(v: number): number {
    const s = fround(v + 12582912);
    if (s >= 8388608 && s < 16777216) return s - 12582912;
    nf32[0] = s;
    return (ni32[0] & 0x007fffff) - 0x00400000;
}

/** make_qx_quants with rmse_type 1 and no weights (the Q6_K path): symmetric levels in
 * [-nmax, nmax), refined over 18 nearby inverse scales. L receives level + nmax. */
function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
    let max = 0,
        amax = 0;
    for (let i = 0; i < n; i++) {
        const ax = Math.abs(x[xo + i]);
        if (ax > amax) {
            amax = ax;
            max = x[xo + i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (let i = 0; i < n; i++) L[lo + i] = 0;
        return 0;
    }
    let iscale = fround(-nmax / max);
    let sumlx = 0,
        suml2 = 0;
    for (let i = 0; i < n; i++) {
        const xi = x[xo + i];
        let l = nearestInt(fround(iscale * xi));
        l = Math.max(-nmax, Math.min(nmax - 1, l));
        L[lo + i] = l + nmax;
        const w = fround(xi * xi);
        sumlx = fround(sumlx + fround(fround(w * xi) * l));
        suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0; // C's truth test: NaN counts as non-zero
    let best = fround(scale * sumlx);
    for (let is = -9; is <= 9; is++) {
        if (is === 0) continue;
        iscale = fround(-fround(nmax + fround(fround(0.1) * is)) / max);
        sumlx = 0;
        suml2 = 0;
        for (let i = 0; i < n; i++) {
            const xi = x[xo + i];
            let l = nearestInt(fround(iscale * xi));
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            const w = fround(xi * xi);
            sumlx = fround(sumlx + fround(fround(w * xi) * l));
            suml2 = fround(suml2 + fround(fround(w * l) * l));
        }
        if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
            for (let i = 0; i < n; i++) {
                const l = nearestInt(fround(iscale * x[xo + i]));
                L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
            }
            scale = fround(sumlx / suml2);
            best = fround(scale * sumlx);
        }
    }
    return scale;
}

/** make_qkx2_quants: asymmetric levels 0..nmax with a min (x ~ scale * L - theMin), searched
 * over nstep + 1 inverse scales for the least weighted squared error. Returns [scale, theMin]
 * through `out`; L receives the levels. */
function makeQkx2Quants(
    n: number,
    nmax: number,
    x: Float32Array,
    xo: number,
    weights: Float32Array,
    L: Uint8Array,
    lo: number,
    Laux: Uint8Array,
    rmin: number,
    rdelta: number,
    nstep: number,
    out: Float32Array,
): void {
    let min = x[xo],
        max = x[xo];
    let sumW = weights[0];
    let sumX = fround(sumW * x[xo]);
    for (let i = 1; i < n; i++) {
        const xi = x[xo + i];
        if (xi < min) min = xi;
        if (xi > max) max = xi;
        const w = weights[i];
        sumW = fround(sumW + w);
        sumX = fround(sumX + fround(w * xi));
    }
    if (min > 0) min = 0;
    if (max === min) {
        for (let i = 0; i < n; i++) L[lo + i] = 0;
        out[0] = 0;
        out[1] = -min;
        return;
    }
    let iscale = fround(nmax / fround(max - min));
    let scale = fround(1 / iscale);
    let bestError = 0;
    for (let i = 0; i < n; i++) XM[i] = x[xo + i] - min; // x - min, rounded by the store, for every candidate
    for (let i = 0; i < n; i++) {
        const xi = x[xo + i];
        const l = nearestInt(fround(iscale * XM[i]));
        const q = Math.max(0, Math.min(nmax, l));
        L[lo + i] = q;
        let diff = fround(fround(fround(scale * q) + min) - xi);
        diff = fround(diff * diff);
        bestError = fround(bestError + fround(weights[i] * diff));
    }
    for (let is = 0; is <= nstep; is++) {
        // `min` may have moved to a better candidate's min: the reference reads the current one.
        iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
        let sumL = 0,
            sumL2 = 0,
            sumXL = 0;
        for (let i = 0; i < n; i++) {
            const xi = x[xo + i];
            let l = nearestInt(fround(iscale * XM[i]));
            l = Math.max(0, Math.min(nmax, l));
            Laux[i] = l;
            const w = weights[i];
            const wl = fround(w * l);
            sumL = fround(sumL + wl);
            sumL2 = fround(sumL2 + fround(wl * l));
            sumXL = fround(sumXL + fround(wl * xi));
        }
        const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
        if (D > 0) {
            let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
            let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
            if (thisMin > 0) {
                thisMin = 0;
                thisScale = fround(sumXL / sumL2);
            }
            let curError = 0;
            for (let i = 0; i < n; i++) {
                let diff = fround(fround(fround(thisScale * Laux[i]) + thisMin) - x[xo + i]);
                diff = fround(diff * diff);
                curError = fround(curError + fround(weights[i] * diff));
            }
            if (curError < bestError) {
                for (let i = 0; i < n; i++) L[lo + i] = Laux[i];
                bestError = curError;
                scale = thisScale;
                min = thisMin;
                for (let i = 0; i < n; i++) XM[i] = x[xo + i] - min;
            }
        }
    }
    out[0] = scale;
    out[1] = -min;
}

// Scratch buffers, reused: each encoder call runs to completion on one thread.
const L8 = new Uint8Array(QK_K);
const Li8 = new Int8Array(QK_K);
const LAUX = new Uint8Array(32);
const WEIGHTS = new Float32Array(32);
const SCALES = new Float32Array(16);
const MINS = new Float32Array(8);
const PAIR = new Float32Array(2);
const XM = new Float32Array(32);

/** get_scale_min_k4, scale half: the 6-bit scale of sub-block j from the 12 packed scale bytes. */
function scaleK4(j: number, q: Uint8Array, o: number): number {
    return j < 4 ? q[o + j] & 63 : (q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4);
}

/** get_scale_min_k4, min half. */
function minK4(j: number, q: Uint8Array, o: number): number {
    return j < 4 ? q[o + j + 4] & 63 : (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4);
}

/** The part Q4_K and Q5_K share: 8 sub-blocks of 32 with 6-bit scales and mins under fp16 super
 * scales d and dmin (written at `o`, scales at o + 4), and the levels 0..nmax in L8. */
function encodeScaledMinBlock(x: Float32Array, xo: number, dst: Uint8Array, o: number, nmax: number, rmin: number, nstep: number): void {
    let maxScale = 0,
        maxMin = 0;
    for (let j = 0; j < 8; j++) {
        const b = xo + 32 * j;
        let sumX2 = 0;
        for (let l = 0; l < 32; l++) sumX2 = fround(sumX2 + fround(x[b + l] * x[b + l]));
        const avX = fround(Math.sqrt(fround(sumX2 / 32)));
        for (let l = 0; l < 32; l++) WEIGHTS[l] = avX + Math.abs(x[b + l]); // Float32Array store rounds
        makeQkx2Quants(32, nmax, x, b, WEIGHTS, L8, 32 * j, LAUX, rmin, fround(0.1), nstep, PAIR);
        SCALES[j] = PAIR[0];
        MINS[j] = PAIR[1];
        if (SCALES[j] > maxScale) maxScale = SCALES[j];
        if (MINS[j] > maxMin) maxMin = MINS[j];
    }
    const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
    const s = o + 4;
    for (let k = 0; k < 12; k++) dst[s + k] = 0;
    for (let j = 0; j < 8; j++) {
        const ls = Math.min(63, nearestInt(fround(invScale * SCALES[j])) & 0xff); // uint8_t ls = nearest_int(...)
        const lm = Math.min(63, nearestInt(fround(invMin * MINS[j])) & 0xff);
        if (j < 4) {
            dst[s + j] = ls;
            dst[s + j + 4] = lm;
        } else {
            dst[s + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
            dst[s + j - 4] |= (ls >> 4) << 6;
            dst[s + j] |= (lm >> 4) << 6;
        }
    }
    const hd = fp32ToFp16Bits(fround(maxScale / 63));
    const hm = fp32ToFp16Bits(fround(maxMin / 63));
    dst[o] = hd & 0xff;
    dst[o + 1] = hd >>> 8;
    dst[o + 2] = hm & 0xff;
    dst[o + 3] = hm >>> 8;
    const dAll = F16_TABLE[hd],
        mAll = F16_TABLE[hm];
    for (let j = 0; j < 8; j++) {
        const d = fround(dAll * scaleK4(j, dst, s));
        if (d === 0) continue; // keeps the levels make_qkx2_quants chose (a NaN d does not skip, as in C)
        const dm = fround(mAll * minK4(j, dst, s));
        for (let ii = 0; ii < 32; ii++) {
            const l = nearestInt(fround(fround(x[xo + 32 * j + ii] + dm) / d));
            L8[32 * j + ii] = Math.max(0, Math.min(nmax, l));
        }
    }
}

function checkLength(name: string, n: number): void {
    if (n % QK_K !== 0) throw new Error(`${name} needs a multiple of ${QK_K} values, got ${n}`);
}

/** Q4_K: d, dmin (fp16), 12 bytes of 6-bit scales/mins, 128 bytes of nibbles. 144 bytes per 256 values. */
export function quantizeQ4_K(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
    checkLength("q4_K", src.length);
    for (let b = 0, o = dstOffset; b < src.length; b += QK_K, o += Q4_K_BYTES) {
        encodeScaledMinBlock(src, b, dst, o, 15, fround(-1), 20);
        let q = o + 16;
        for (let j = 0; j < QK_K; j += 64) {
            for (let l = 0; l < 32; l++) dst[q + l] = L8[j + l] | (L8[j + l + 32] << 4);
            q += 32;
        }
    }
}

/** Q5_K: d, dmin, 12 scale bytes, 32 bytes of high bits, 128 bytes of low nibbles. 176 bytes per 256 values. */
export function quantizeQ5_K(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
    checkLength("q5_K", src.length);
    for (let b = 0, o = dstOffset; b < src.length; b += QK_K, o += Q5_K_BYTES) {
        encodeScaledMinBlock(src, b, dst, o, 31, fround(-0.5), 15);
        const qh = o + 16;
        let ql = o + 48;
        for (let k = 0; k < 32; k++) dst[qh + k] = 0;
        let m1 = 1,
            m2 = 2;
        for (let n = 0; n < QK_K; n += 64) {
            for (let j = 0; j < 32; j++) {
                let l1 = L8[n + j];
                if (l1 > 15) {
                    l1 -= 16;
                    dst[qh + j] |= m1;
                }
                let l2 = L8[n + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    dst[qh + j] |= m2;
                }
                dst[ql + j] = l1 | (l2 << 4);
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
    }
}

/** Q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, fp16 d. 210 bytes per 256 values. */
export function quantizeQ6_K(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
    checkLength("q6_K", src.length);
    for (let b = 0, o = dstOffset; b < src.length; b += QK_K, o += Q6_K_BYTES) {
        let maxScale = 0,
            maxAbsScale = 0;
        for (let ib = 0; ib < 16; ib++) {
            const scale = makeQxQuants(16, 32, src, b + 16 * ib, Li8, 16 * ib);
            SCALES[ib] = scale;
            const abs = Math.abs(scale);
            if (abs > maxAbsScale) {
                maxAbsScale = abs;
                maxScale = scale;
            }
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            dst.fill(0, o, o + Q6_K_BYTES); // the fp16 of 0 is 0 too
            continue;
        }
        const iscale = fround(-128 / maxScale);
        const hd = fp32ToFp16Bits(fround(1 / iscale));
        const sc = o + 192;
        dst[o + 208] = hd & 0xff;
        dst[o + 209] = hd >>> 8;
        for (let ib = 0; ib < 16; ib++) dst[sc + ib] = Math.min(127, nearestInt(fround(iscale * SCALES[ib]))) & 0xff; // to int8_t
        const dAll = F16_TABLE[hd];
        for (let j = 0; j < 16; j++) {
            const d = fround(dAll * ((dst[sc + j] << 24) >> 24));
            if (d === 0) continue;
            for (let ii = 0; ii < 16; ii++) {
                const l = nearestInt(fround(src[b + 16 * j + ii] / d));
                Li8[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
            }
        }
        let ql = o,
            qh = o + 128;
        for (let j = 0; j < QK_K; j += 128) {
            for (let l = 0; l < 32; l++) {
                const q1 = Li8[j + l] & 0xf,
                    q2 = Li8[j + l + 32] & 0xf;
                const q3 = Li8[j + l + 64] & 0xf,
                    q4 = Li8[j + l + 96] & 0xf;
                dst[ql + l] = q1 | (q3 << 4);
                dst[ql + l + 32] = q2 | (q4 << 4);
                dst[qh + l] =
                    ((Li8[j + l] >> 4) | ((Li8[j + l + 32] >> 4) << 2) | ((Li8[j + l + 64] >> 4) << 4) | ((Li8[j + l + 96] >> 4) << 6)) &
                    0xff;
            }
            ql += 64;
            qh += 32;
        }
    }
}
