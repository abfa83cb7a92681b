// Band-limited resampling: a windowed-sinc (Blackman) interpolator whose cutoff follows the lower of
// the two Nyquist frequencies, so downsampling removes what would otherwise alias.

const HALF_TAPS_AT_UNITY = 32; // zero crossings on each side at cutoff 1.0

function blackman(x: number, halfWidth: number): number {
    const t = (x / halfWidth + 1) / 2; // 0..1 across the window
    return 0.42 - 0.5 * Math.cos(2 * Math.PI * t) + 0.08 * Math.cos(4 * Math.PI * t);
}

/** Resamples mono float PCM from `fromRate` to `toRate` Hz. */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
    if (!(fromRate > 0 && toRate > 0)) throw new RangeError(`bad sample rates ${fromRate} -> ${toRate}`);
    if (fromRate === toRate) return input.slice();
    const ratio = fromRate / toRate;            // input samples per output sample
    const cutoff = Math.min(1, toRate / fromRate); // relative to the input Nyquist frequency
    const halfWidth = Math.ceil(HALF_TAPS_AT_UNITY / cutoff);
    const outLength = Math.floor((input.length * toRate) / fromRate);
    const out = new Float32Array(outLength);
    for (let i = 0; i < outLength; i++) {
        const t = i * ratio;
        const center = Math.floor(t);
        let acc = 0;
        for (let k = center - halfWidth + 1; k <= center + halfWidth; k++) {
            if (k < 0 || k >= input.length) continue;
            const x = t - k;
            if (Math.abs(x) >= halfWidth) continue;
            const arg = Math.PI * cutoff * x;
            const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
            acc += input[k] * cutoff * sinc * blackman(x, halfWidth);
        }
        out[i] = acc;
    }
    return out;
}
