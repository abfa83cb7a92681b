// Reads hyper-parameters from config.json the way convert_hf_to_gguf sees them after
// transformers has loaded the config: text_config merged over the root, and the rope settings
// from either layout (4.5x `rope_scaling` + root `rope_theta`, or 5.x `rope_parameters`).

import { UserError } from "../src/core/errors.js";

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
