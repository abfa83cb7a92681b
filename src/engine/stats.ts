// Medians and ranges of repeated measurements.

export interface Stat {
    median: number;
    min: number;
    max: number;
    samples: number[];
}

export function stat(samples: number[]): Stat {
    const s = [...samples].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return { median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, min: s[0]!, max: s[s.length - 1]!, samples };
}

/** Spread (max / min) above which repetitions disagree too much for the median to be trusted. */
export const NOISY_SPREAD = 1.1;

/** max / min of the samples (1 for a single sample or a zero minimum). */
export function spread(s: Stat): number {
    return s.samples.length > 1 && s.min > 0 ? s.max / s.min : 1;
}

/** Latency percentiles of a load test (nearest rank: each is one of the samples). */
export interface Percentiles {
    p50: number;
    p90: number;
    max: number;
    samples: number[];
}

export function percentiles(samples: number[]): Percentiles {
    const s = [...samples].sort((a, b) => a - b);
    const rank = (q: number) => s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
    return { p50: rank(0.5), p90: rank(0.9), max: s[s.length - 1]!, samples };
}
