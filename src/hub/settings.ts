// Where the Hugging Face Hub is and who we are to it, from the environment variables Python's
// huggingface_hub reads, with the same meanings: HF_ENDPOINT (a mirror or a local stand-in),
// HF_TOKEN (else the token file `huggingface-cli login` writes: HF_TOKEN_PATH, else HF_HOME/token),
// HF_HUB_OFFLINE (no network: only what the cache holds), HF_HUB_DOWNLOAD_TIMEOUT (seconds without
// a byte before a download is retried), and the cache itself (HF_HUB_CACHE, else
// HF_HOME/hub, else ~/.cache/huggingface/hub), shared with Python's tools.

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../core/errors.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubSettings {
    /** Without a trailing slash. */
    endpoint: string;
    token?: string;
    /** Where the token came from, for messages (never the token itself). */
    tokenSource?: string;
    offline: boolean;
    /** The hub cache folder (models--owner--name/ under it). */
    cacheDir: string;
    /** Seconds a download may go without a byte before it is retried (HF_HUB_DOWNLOAD_TIMEOUT, default 10). */
    stallSeconds: number;
}

/** huggingface_hub's _is_true: 1, ON, YES, TRUE in any case. */
const isTrue = (v: string | undefined) => v !== undefined && ["1", "ON", "YES", "TRUE"].includes(v.trim().toUpperCase());

function hfHome(env: NodeJS.ProcessEnv): string {
    return env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface");
}

function endpointFrom(env: NodeJS.ProcessEnv): string {
    const raw = (env.HF_ENDPOINT || DEFAULT_ENDPOINT).trim().replace(/\/+$/, "");
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        throw new UserError(`HF_ENDPOINT=${JSON.stringify(env.HF_ENDPOINT)} is not a URL (e.g. ${DEFAULT_ENDPOINT})`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
        throw new UserError(`HF_ENDPOINT must be an http(s) URL, got ${JSON.stringify(env.HF_ENDPOINT)}`);
    return raw;
}

function tokenFrom(env: NodeJS.ProcessEnv): { token?: string; tokenSource?: string } {
    for (const name of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]) {
        const v = env[name]?.trim();
        if (v) return { token: v, tokenSource: name };
    }
    const file = env.HF_TOKEN_PATH || join(hfHome(env), "token");
    if (!existsSync(file)) return {};
    let token: string;
    try {
        token = readFileSync(file, "utf8").trim();
    } catch (e) {
        throw new UserError(`cannot read the Hugging Face token file ${file}: ${(e as Error).message}`);
    }
    return token ? { token, tokenSource: file } : {};
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
    const v = env[name]?.trim();
    if (!v) return fallback;
    const n = Number(v);
    if (!(n > 0)) throw new UserError(`${name} must be a number of seconds, got ${JSON.stringify(v)}`);
    return n;
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
    return {
        endpoint: endpointFrom(env),
        ...tokenFrom(env),
        offline: isTrue(env.HF_HUB_OFFLINE || env.TRANSFORMERS_OFFLINE),
        cacheDir: env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(env), "hub"),
        stallSeconds: positiveNumber(env, "HF_HUB_DOWNLOAD_TIMEOUT", 10),
    };
}
