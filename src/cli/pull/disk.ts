// The free-space check a pull makes before downloading anything: what it will write to each
// filesystem (the download into the Hugging Face cache, the GGUF files into the models folder),
// summed where the two are one filesystem, against what statfs says is free there.

import { statSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UserError } from "../../core/errors.js";
import { formatBytes } from "../format.js";

export interface SpaceNeed {
    /** Where it goes (need not exist yet). */
    dir: string;
    bytes: number;
    what: string;
}

/** The nearest folder of `dir` that exists (statfs and the device number need one). */
function existing(dir: string): string {
    let d = resolve(dir);
    while (!statSync(d, { throwIfNoEntry: false })) {
        const up = dirname(d);
        if (up === d) break;
        d = up;
    }
    return d;
}

export async function checkFreeSpace(needs: SpaceNeed[]): Promise<void> {
    const byDevice = new Map<number, { at: string; needs: SpaceNeed[] }>();
    for (const n of needs) {
        if (n.bytes <= 0) continue;
        const at = existing(n.dir);
        const dev = statSync(at).dev;
        const entry = byDevice.get(dev) ?? { at, needs: [] };
        entry.needs.push(n);
        byDevice.set(dev, entry);
    }
    for (const { at, needs: here } of byDevice.values()) {
        const fs = await statfs(at);
        const free = fs.bavail * fs.bsize;
        const total = here.reduce((a, n) => a + n.bytes, 0);
        if (total > free)
            throw new UserError(
                `not enough free space: ${here.map((n) => `${n.what} needs ${formatBytes(n.bytes)} in ${n.dir}`).join(" and ")}, and ${formatBytes(free)} is free there; nothing was downloaded`,
            );
    }
}

/** Bits per weight of each conversion type (llama.cpp's figures for its mixtures), over a 16-bit checkpoint. */
const BITS: Record<string, number> = { q4_k_m: 4.9, q5_k_m: 5.7, q6_k: 6.6, q4_0: 4.6, q8_0: 8.5, f16: 16, bf16: 16, f32: 32 };

/**
 * The converted files' size from the checkpoint's bytes, before they are read: the weights as if
 * all were 16-bit (the GLM releases are BF16), plus a tenth of them again for an encoder kept at
 * 16 bits. An estimate for refusing early; the converter checks the exact figure before it writes.
 */
export function convertedBytesEstimate(checkpointBytes: number, outtype: string): number {
    return Math.ceil(checkpointBytes * ((BITS[outtype] ?? 16) / 16) + checkpointBytes * 0.1);
}
