// Reads hyper-parameters from config.json the way convert_hf_to_gguf sees them after
// transformers has loaded the config: text_config merged over the root, and the rope settings
// from either layout (4.5x `rope_scaling` + root `rope_theta`, or 5.x `rope_parameters`).

import { UserError } from "../src/core/errors.js";
import { LIMITS } from "../src/core/gguf/validate.js";

// biome-ignore lint/suspicious/noExplicitAny: Hugging Face JSON of any shape; each reader checks the fields it uses
export type Json = Record<string, any>;

/** Root keys overlaid with text_config's (the 4.57+/5.x nested layout), as one flat view. */
export function textHparams(config: Json): Json {
    return { ...config, ...(config.text_config ?? {}) };
}

export interface RopeParams {
    theta?: number;
    partialRotaryFactor?: number;
    mropeSection?: number[];
    type?: string;
}

export function ropeParams(h: Json): RopeParams {
    const r: Json = { ...(h.rope_parameters ?? h.rope_scaling ?? {}) };
    const first = (...keys: string[]) => keys.map((k) => h[k]).find((v) => v !== undefined && v !== null);
    return {
        theta: r.rope_theta ?? first("global_rope_theta", "rope_global_theta", "rope_theta_global", "rope_theta", "rotary_emb_base"),
        partialRotaryFactor: r.partial_rotary_factor ?? first("partial_rotary_factor", "rope_pct", "rope_percent"),
        mropeSection: Array.isArray(r.mrope_section) ? r.mrope_section : undefined,
        type: r.rope_type ?? r.type,
    };
}

/** The first of `keys` present in `h`, as a number; a clear error naming the keys otherwise. */
export function requireNumber(h: Json, what: string, ...keys: string[]): number {
    for (const k of keys) {
        const v = h[k];
        if (typeof v === "number" && Number.isFinite(v)) return v;
    }
    throw new UserError(`config.json has no ${what} (${keys.join(" / ")})`);
}

export function optionalNumber(h: Json, ...keys: string[]): number | undefined {
    for (const k of keys) if (typeof h[k] === "number" && Number.isFinite(h[k])) return h[k];
    return undefined;
}

/** Size keys of the configs autoglm converts (any nesting level) and the most each may be. */
const SIZE_KEYS: Record<string, number> = {
    num_hidden_layers: LIMITS.layers,
    depth: LIMITS.layers,
    encoder_layers: LIMITS.layers,
    num_layers: LIMITS.layers,
    num_attention_heads: LIMITS.heads,
    num_key_value_heads: LIMITS.heads,
    num_heads: LIMITS.heads,
    encoder_attention_heads: LIMITS.heads,
    hidden_size: LIMITS.embedding,
    d_model: LIMITS.embedding,
    out_hidden_size: LIMITS.embedding,
    intermediate_size: LIMITS.feedForward,
    encoder_ffn_dim: LIMITS.feedForward,
    vocab_size: LIMITS.vocabulary,
    head_dim: LIMITS.headDim,
    max_position_embeddings: LIMITS.context,
    image_size: LIMITS.imageSize,
    patch_size: LIMITS.patchSize,
    num_mel_bins: LIMITS.melBins,
};

/**
 * Refuses a size no model has (num_hidden_layers 1e9, 0 heads, 2.5 layers) before anything is
 * planned or allocated from it; the planned files are then checked in full by the runtime's validator.
 */
export function checkConfigSizes(config: Json, path: string, at = ""): void {
    for (const [k, v] of Object.entries(config)) {
        if (v && typeof v === "object" && !Array.isArray(v)) {
            checkConfigSizes(v, path, `${at}${k}.`);
            continue;
        }
        const max = SIZE_KEYS[k];
        if (max === undefined || typeof v !== "number") continue;
        if (!Number.isInteger(v) || v < 1 || v > max)
            throw new UserError(`${path}: ${at}${k} is ${v}; it must be a whole number from 1 to ${max}`);
    }
}
