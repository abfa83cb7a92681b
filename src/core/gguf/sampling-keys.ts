// The general.sampling.* keys, once: the converter writes them from generation_config.json
// (convert/model-card.ts, in gguf-py metadata.py's order and types) and the runtime reads them as
// its sampling defaults (src/engine/sampling-defaults.ts, as llama.cpp's common_init_sampler_from_model).

/** autoglm's sampler field a key sets (src/engine/native.ts SamplingOptions). */
export type SamplingField =
    | "temperature"
    | "topK"
    | "topP"
    | "minP"
    | "repeatPenalty"
    | "penaltyLastN"
    | "frequencyPenalty"
    | "presencePenalty";

export interface SamplingKey {
    key: string;
    /** The generation_config.json field the converter reads (penalty_repeat also from repetition_penalty). */
    config: string;
    type: "i32" | "f32" | "str";
    /** How autoglm's sampler applies it: its field, llama.cpp's name for it and the CLI flag that overrides it. */
    applied?: { field: SamplingField; name: string; cli: string };
    /** Why autoglm's sampler does not apply it (llama.cpp does). */
    ignored?: string;
}

/** In metadata.py's order (the order the converter writes them). */
export const SAMPLING_KEYS: readonly SamplingKey[] = [
    {
        key: "general.sampling.sequence",
        config: "sequence",
        type: "str",
        ignored: "autoglm's sampler order is fixed (penalties, top-k, top-p, min-p, temperature)",
    },
    { key: "general.sampling.top_k", config: "top_k", type: "i32", applied: { field: "topK", name: "top_k", cli: "--top-k" } },
    { key: "general.sampling.top_p", config: "top_p", type: "f32", applied: { field: "topP", name: "top_p", cli: "--top-p" } },
    { key: "general.sampling.min_p", config: "min_p", type: "f32", applied: { field: "minP", name: "min_p", cli: "--min-p" } },
    { key: "general.sampling.xtc_probability", config: "xtc_probability", type: "f32", ignored: "autoglm has no XTC sampler" },
    { key: "general.sampling.xtc_threshold", config: "xtc_threshold", type: "f32", ignored: "autoglm has no XTC sampler" },
    { key: "general.sampling.temp", config: "temperature", type: "f32", applied: { field: "temperature", name: "temp", cli: "--temp" } },
    {
        key: "general.sampling.penalty_last_n",
        config: "penalty_last_n",
        type: "i32",
        applied: { field: "penaltyLastN", name: "penalty_last_n", cli: "--repeat-last-n" },
    },
    {
        key: "general.sampling.penalty_repeat",
        config: "penalty_repeat",
        type: "f32",
        applied: { field: "repeatPenalty", name: "repeat_penalty", cli: "--repeat-penalty" },
    },
    { key: "general.sampling.mirostat", config: "mirostat", type: "i32", ignored: "autoglm has no mirostat sampler" },
    { key: "general.sampling.mirostat_tau", config: "mirostat_tau", type: "f32", ignored: "autoglm has no mirostat sampler" },
    { key: "general.sampling.mirostat_eta", config: "mirostat_eta", type: "f32", ignored: "autoglm has no mirostat sampler" },
];
