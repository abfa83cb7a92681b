// Medians and ranges of repeated measurements.

export interface Stat { median: number; min: number; max: number; samples: number[] }

export function stat(samples: number[]): Stat {
    const s = [...samples].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return { median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, min: s[0]!, max: s[s.length - 1]!, samples };
}
