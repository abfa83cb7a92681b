// The architectures autoglm converts, looked up by config.json's `architectures[0]`.

import { UserError } from "../../src/core/errors.js";
import { glm4 } from "./glm4.js";
import { glm4v } from "./glm4v.js";
import { glmasr } from "./glmasr.js";
import type { ArchitectureConverter } from "./types.js";

export const CONVERTERS: ArchitectureConverter[] = [glm4v, glm4, glmasr];

/** Architectures we recognise but cannot convert, with the reason. */
const KNOWN_UNSUPPORTED: Record<string, string> = {
    GlmAsrForConditionalGeneration:
        "this is the transformers 5 layout of GLM-ASR, which llama.cpp's audio encoder cannot load yet; use the GlmasrModel (remote-code) checkpoint",
};

export function supportedArchitectures(): string[] {
    return CONVERTERS.flatMap((c) => c.architectures);
}

export function converterFor(arch: string): ArchitectureConverter {
    const c = CONVERTERS.find((x) => x.architectures.includes(arch));
    if (c) return c;
    const why = KNOWN_UNSUPPORTED[arch];
    throw new UserError(`unsupported architecture ${arch}${why ? `: ${why}` : ""} (supported: ${supportedArchitectures().join(", ")})`);
}
