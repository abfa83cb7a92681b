// The sampling defaults in effect for a model: llama.cpp's common_params_sampling defaults, overlaid
// with the model's own general.sampling.* keys the way common_init_sampler_from_model applies them
// (each key read as text and parsed with strtol/strtof, so a float top_k still counts). What a user
// or a request sets wins over both (Runtime.sampling).

import type { Metadata } from "../core/gguf/metadata.js";
import { SAMPLING_KEYS, type SamplingField, type SamplingKey } from "../core/gguf/sampling-keys.js";
import type { SamplingOptions } from "./native.js";

export type { SamplingField };

export type SamplingDefaults = Required<Pick<SamplingOptions, SamplingField>>;

/** llama.cpp's common_params_sampling defaults (llama-server, llama-cli, llama-completion). */
export const LLAMA_CPP_SAMPLING: SamplingDefaults = {
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    minP: 0.05,
    repeatPenalty: 1,
    penaltyLastN: 64,
    frequencyPenalty: 0,
    presencePenalty: 0,
};

/** The keys autoglm's sampler applies, in the order the settings are shown (llama.cpp's). */
const SHOWN: SamplingField[] = ["temperature", "topK", "topP", "minP", "repeatPenalty", "penaltyLastN"];
const APPLIED = SHOWN.map((field) => {
    const k = SAMPLING_KEYS.find((k) => k.applied?.field === field) as SamplingKey & { applied: NonNullable<SamplingKey["applied"]> };
    return { key: k.key, field, int: k.type === "i32", flag: k.applied.name, cli: k.applied.cli };
});

export interface ModelSampling {
    defaults: SamplingDefaults;
    /** The fields the model's metadata set. */
    fromModel: Set<SamplingField>;
    /** Model keys present but not applied, with why. */
    ignored: { key: string; why: string }[];
}

/** strtol / strtof over the value as llama_model_meta_val_str prints it; undefined where nothing parses. */
function parsed(v: unknown, int: boolean): number | undefined {
    if (typeof v === "boolean") return Number(v);
    if (typeof v === "bigint") return int ? Number(BigInt.asIntN(32, v)) : Number(v);
    if (typeof v === "number") return int ? Math.trunc(v) : Math.fround(v);
    if (typeof v === "string") {
        const m = int ? /^\s*[-+]?\d+/.exec(v) : /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(v);
        return m ? (int ? Number.parseInt(m[0], 10) : Math.fround(Number(m[0]))) : undefined;
    }
    return undefined;
}

export function modelSampling(meta: Metadata): ModelSampling {
    const defaults = { ...LLAMA_CPP_SAMPLING };
    const fromModel = new Set<SamplingField>();
    for (const { key, field, int } of APPLIED) {
        const v = parsed(meta.value(key), int);
        if (v === undefined || !Number.isFinite(v)) continue;
        defaults[field] = v;
        fromModel.add(field);
    }
    const ignored = SAMPLING_KEYS.filter((k) => k.ignored && meta.value(k.key) !== undefined).map((k) => ({ key: k.key, why: k.ignored! }));
    return { defaults, fromModel, ignored };
}

/**
 * One line: each setting in effect with where it came from, e.g. `temp 0 (--temp), top_k 2 (model),
 * top_p 0.95 (llama.cpp), ...`; `given` are the fields a command's flags set.
 */
export function describeSampling(s: ModelSampling, given: Partial<SamplingOptions> = {}): string {
    const show = (v: number) => String(Number(v.toPrecision(6)));
    return APPLIED.map(({ field, flag, cli }) => {
        const g = given[field];
        if (typeof g === "number") return `${flag} ${show(g)} (${cli})`;
        return `${flag} ${show(s.defaults[field])} (${s.fromModel.has(field) ? "model" : "llama.cpp"})`;
    }).join(", ");
}

/** The start-up / info lines: the settings in effect, then any model key autoglm does not apply. */
export function samplingLines(s: ModelSampling, given: Partial<SamplingOptions> = {}, title = "sampling"): string[] {
    return [
        `${title}: ${describeSampling(s, given)}`,
        ...s.ignored.map(({ key, why }) => `sampling: the model's ${key} is not applied (${why})`),
    ];
}
