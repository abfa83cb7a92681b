// Band-limited resampling: a windowed-sinc (Blackman) interpolator whose cutoff follows the lower of
// the two Nyquist frequencies, so downsampling removes what would otherwise alias. For rates whose
// ratio reduces to L/M with few phases (48 kHz -> 16 kHz is 1/3, 44.1 kHz -> 16 kHz is 160/441) the
// filter taps repeat every L outputs: they are computed once per phase instead of once per tap,
// which makes a ten-minute clip a few seconds of work instead of a minute.

const HALF_TAPS_AT_UNITY = 32; // zero crossings on each side at cutoff 1.0
/** Phase tables up to this many phases (x 2 x halfWidth taps each) are computed ahead. */
const MAX_PHASES = 4096;

function blackman(x: number, halfWidth: number): number {
    const t = (x / halfWidth + 1) / 2; // 0..1 across the window
    return 0.42 - 0.5 * Math.cos(2 * Math.PI * t) + 0.08 * Math.cos(4 * Math.PI * t);
}

/** The filter's weight at distance x (in input samples) from the output's position. */
function tap(x: number, cutoff: number, halfWidth: number): number {
    if (Math.abs(x) >= halfWidth) return 0;
    const arg = Math.PI * cutoff * x;
    return cutoff * (arg === 0 ? 1 : Math.sin(arg) / arg) * blackman(x, halfWidth);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Resamples mono float PCM from `fromRate` to `toRate` Hz. */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
    if (!(fromRate > 0 && toRate > 0)) throw new RangeError(`bad sample rates ${fromRate} -> ${toRate}`);
    if (fromRate === toRate) return input.slice();
    const cutoff = Math.min(1, toRate / fromRate); // relative to the input Nyquist frequency
    const halfWidth = Math.ceil(HALF_TAPS_AT_UNITY / cutoff);
    const outLength = Math.floor((input.length * toRate) / fromRate);
    const out = new Float32Array(outLength);
    const span = 2 * halfWidth; // inputs k = center - halfWidth + 1 .. center + halfWidth
    const g = Number.isInteger(fromRate) && Number.isInteger(toRate) ? gcd(fromRate, toRate) : 0;
    const L = g ? toRate / g : 0,
        M = g ? fromRate / g : 0;
    if (L > 0 && L <= MAX_PHASES) {
        // Output i sits at input position i * M / L: center floor(i * M / L), phase (i * M) mod L.
        const table = new Float64Array(L * span);
        for (let p = 0; p < L; p++) for (let n = 0; n < span; n++) table[p * span + n] = tap(p / L + halfWidth - 1 - n, cutoff, halfWidth);
        for (let i = 0; i < outLength; i++) {
            const num = i * M,
                center = Math.floor(num / L),
                p = num - center * L,
                row = p * span;
            const k0 = center - halfWidth + 1;
            let acc = 0;
            for (let n = Math.max(0, -k0), end = Math.min(span, input.length - k0); n < end; n++) acc += input[k0 + n] * table[row + n];
            out[i] = acc;
        }
        return out;
    }
    const ratio = fromRate / toRate; // input samples per output sample
    for (let i = 0; i < outLength; i++) {
        const t = i * ratio;
        const center = Math.floor(t);
        let acc = 0;
        for (let k = Math.max(0, center - halfWidth + 1), end = Math.min(input.length - 1, center + halfWidth); k <= end; k++)
            acc += input[k] * tap(t - k, cutoff, halfWidth);
        out[i] = acc;
    }
    return out;
}
