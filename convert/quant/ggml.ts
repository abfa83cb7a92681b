// ggml's quantizers (ggml_quantize_chunk, what llama-quantize runs) through autoglm's native addon,
// loaded for quantizing alone: no model, context or GPU. It is the CPU build's addon whatever backend
// the runtime uses (libggml-base, which holds the quantizers, is the same file in every
// node-llama-cpp build), loaded once per thread: each conversion worker has its own instance.

import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { UserError } from "../../src/core/errors.js";
import type { GgmlType } from "../../src/core/gguf/constants.js";
import { fromRoot } from "../../src/core/package-root.js";
import type { SourceDtype } from "./codec.js";

/** The addon's quantizer (native/src/quantize.cpp). */
export interface GgmlQuantizer {
    /** Writes `source` (whole rows of `rowLength` values) into `target` as `type`; returns its NaN/infinite values. */
    quantizeRows(sourceType: SourceDtype, type: GgmlType, rowLength: number, source: Uint8Array, target: Uint8Array): number;
}

const PLATFORM_NAME: Record<string, string> = { darwin: "mac", win32: "win" };

/** The addon of node-llama-cpp's CPU build (linux-x64), or where a platform has none (mac-arm64), its first build. */
export function quantizerAddonPath(): string {
    const host = `${PLATFORM_NAME[process.platform] ?? process.platform}-${process.arch}`;
    const dir = fromRoot("native", "build");
    const built = (variant: string) => existsSync(`${dir}/${variant}/autoglm.node`);
    const variant = built(host) ? host : existsSync(dir) ? readdirSync(dir).find((d) => d.startsWith(`${host}-`) && built(d)) : undefined;
    if (!variant)
        throw new UserError(
            `autoglm's native addon is not built (${dir}/${host}/autoglm.node), and conversion needs it; run: npm run build:native`,
        );
    return `${dir}/${variant}/autoglm.node`;
}

let quantizer: GgmlQuantizer | undefined;

export function ggmlQuantizer(): GgmlQuantizer {
    quantizer ??= createRequire(import.meta.url)(quantizerAddonPath()) as GgmlQuantizer;
    return quantizer;
}
