// Scalar float conversions with the exact rounding ggml uses:
// fp32 -> fp16 and fp32 -> bf16 both round to nearest, ties to even.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a float32 value, round-to-nearest-even; NaN becomes a quiet NaN. */
export function fp32ToFp16Bits(x: number): number {
    f32[0] = x;
    return bitsFp32ToFp16(u32[0]);
}

export function bitsFp32ToFp16(w: number): number {
    const sign = (w >>> 16) & 0x8000;
    const exp = (w >>> 23) & 0xff;
    const mant = w & 0x7fffff;
    if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
    const e = exp - 112; // rebias 127 -> 15
    if (e >= 31) return sign | 0x7c00;
    if (e <= 0) {
        // Result is subnormal (or zero): value = M * 2^(exp-150), half subnormal unit = 2^-24.
        const shift = 126 - exp;
        if (shift > 24) return sign;
        const m = mant | 0x800000;
        let q = m >>> shift;
        const rem = m & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        if (rem > half || (rem === half && q & 1)) q++;
        return sign | q;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry may reach the exponent (even inf): correct
    return sign | h;
}

/** float32 -> bfloat16 bits as ggml_compute_fp32_to_bf16 does it. */
export function bitsFp32ToBf16(w: number): number {
    if ((w & 0x7fffffff) >>> 0 > 0x7f800000) return ((w >>> 16) | 64) & 0xffff; // quiet NaN
    return ((w + (0x7fff + ((w >>> 16) & 1))) >>> 0) >>> 16;
}

/** fp16 bits -> float32, through a 64k-entry table built once. */
const F16_TABLE = (() => {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
        const sign = h & 0x8000 ? -1 : 1;
        const exp = (h >>> 10) & 0x1f;
        const mant = h & 0x3ff;
        let v: number;
        if (exp === 0) v = mant * 2 ** -24;
        else if (exp === 31) v = mant ? NaN : Infinity;
        else v = (1 + mant / 1024) * 2 ** (exp - 15);
        t[h] = sign * v;
    }
    return t;
})();

export function fp16BitsToFp32(h: number): number {
    return F16_TABLE[h];
}
export { F16_TABLE };
