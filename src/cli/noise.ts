// The warning `bench` (local and --url) prints when a measurement's repetitions disagree.

import { NOISY_SPREAD, spread, type Stat } from "../engine/stats.js";

/** Four significant digits, without exponents for large values. */
const figure = (x: number) => (Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4));

/** A warning for each measurement whose repetitions differ by more than 10 %. */
export function noiseWarnings(stats: [string, Stat][]): string[] {
    return stats
        .filter(([, s]) => spread(s) > NOISY_SPREAD)
        .map(
            ([name, s]) =>
                `${name} varied x${spread(s).toFixed(2)} between repetitions (${figure(s.min)} to ${figure(s.max)}): the machine is busy or its clock changes; the median is less certain (more -r, or an idle machine)`,
        );
}
