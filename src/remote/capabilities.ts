// What a remote engine serves and accepts, from what it publishes: /v1/models (every server; autoglm's
// meta carries its modalities, context and slots; vLLM and SGLang give max_model_len; llama-server's
// meta gives its context per slot) and llama-server's /props (modalities, slots). Whatever a server
// does not publish stays unknown, and the server decides when a request arrives.

import { UserError } from "../core/errors.js";
import type { Endpoint } from "./endpoint.js";

export interface Capabilities {
    /** The name requests carry. */
    model: string;
    /** Every name the server lists (empty when it has no /v1/models). */
    models: string[];
    /** Who serves it, from the model list's owned_by: "autoglm", "llamacpp", "vllm", "sglang"... ("" when not said). */
    server: string;
    /** Takes images / audio; undefined: the server does not say (vLLM, SGLang, routers). */
    vision?: boolean;
    audio?: boolean;
    /** Tokens one request may use (prompt and answer). */
    contextTokens?: number;
    /** Requests it runs at once. */
    slots?: number;
    /** Where vision and audio were read, for messages. */
    source?: string;
}

/** Servers whose chat requests take a GBNF `grammar` field (others, vLLM and SGLang among them, ignore it). */
const GBNF_SERVERS = new Set(["autoglm", "llamacpp"]);

/** Whether the server takes a GBNF grammar: known only for the servers that say who they are. */
export function takesGbnf(c: Capabilities): boolean {
    return GBNF_SERVERS.has(c.server);
}

type Json = Record<string, unknown>;
const obj = (x: unknown): Json | undefined => (x && typeof x === "object" && !Array.isArray(x) ? (x as Json) : undefined);
const positive = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) && x > 0 ? x : undefined);
const bool = (x: unknown): boolean | undefined => (typeof x === "boolean" ? x : undefined);

/** Reads the server's model list (and llama-server's /props) and settles which model requests name. */
export async function discover(endpoint: Endpoint, requested?: string, signal?: AbortSignal, modelFlag = "--model"): Promise<Capabilities> {
    // With --model given, a server (or router) without a model list is still usable.
    const list = await endpoint.getJson("/v1/models", { optional: requested !== undefined, signal });
    if (list === undefined) return { model: requested!, models: [], server: "" };
    const data = obj(list)?.data;
    if (!Array.isArray(data) || data.some((m) => typeof obj(m)?.id !== "string"))
        throw new UserError(`${endpoint.shown}: GET /v1/models did not answer a model list: is it an OpenAI-compatible server?`);
    const entries = data as Json[];
    const names = (m: Json) => [m.id as string, ...(Array.isArray(m.aliases) ? m.aliases.filter((a) => typeof a === "string") : [])];
    const models = entries.map((m) => m.id as string);
    let entry: Json | undefined;
    if (requested !== undefined) {
        entry = entries.find((m) => names(m).includes(requested));
        if (!entry)
            throw new UserError(
                `${endpoint.shown} serves ${models.length ? models.join(", ") : "no model"}, not ${JSON.stringify(requested)} (${modelFlag})`,
            );
    } else if (entries.length === 1) entry = entries[0];
    else if (entries.length === 0) throw new UserError(`${endpoint.shown} serves no model (GET /v1/models is empty)`);
    else throw new UserError(`${endpoint.shown} serves several models (${models.join(", ")}): choose one with --model (or AUTOGLM_MODEL)`);
    const e = entry!;
    const meta = obj(e.meta);
    const caps: Capabilities = {
        model: requested ?? (e.id as string),
        models,
        server: typeof e.owned_by === "string" ? e.owned_by : "",
        contextTokens: positive(e.max_model_len) ?? positive(meta?.n_ctx),
    };
    const modalities = obj(meta?.modalities);
    if (modalities) {
        // autoglm serve: its meta says what it takes (audio: its own encoder or a speech model).
        caps.vision = bool(modalities.vision);
        caps.audio = bool(modalities.audio);
        caps.slots = positive(meta?.n_slots);
        caps.source = "GET /v1/models";
    }
    if (caps.server === "llamacpp") {
        // Optional: a front end that answers /props with a page or an error leaves the capabilities unknown.
        const props = obj(
            await endpoint.getJson("/props", { optional: true, signal }).catch((e) => {
                if (signal?.aborted) throw e;
                return undefined;
            }),
        );
        const m = obj(props?.modalities);
        if (m) {
            caps.vision = bool(m.vision);
            caps.audio = bool(m.audio);
            caps.source = "GET /props";
        }
        caps.slots = positive(props?.total_slots) ?? caps.slots;
        caps.contextTokens ??= positive(obj(props?.default_generation_settings)?.n_ctx);
    }
    return caps;
}
