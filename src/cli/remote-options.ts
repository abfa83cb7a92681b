// --url and --api-key, which every model-running command shares: the command talks to a remote
// OpenAI-compatible engine instead of loading a model, and --model names the served model. Flags
// that configure a local model are refused with --url (the server decided them), opening the engine
// is cancellable with Ctrl-C, and one status line says what it is.

import type { Command } from "commander";
import { UserError } from "../core/errors.js";
import { withInterrupt } from "./interrupt.js";
import { escapeControls } from "./terminal-text.js";
import type { RemoteEngine } from "../remote/remote-engine.js";

export interface RemoteFlags {
    url?: string;
    apiKey?: string;
    /** With --url: the served model's name. */
    model?: string;
}

/** The flags that configure a model loaded here (refused with --url: the server decided them). */
export const LOCAL_MODEL_FLAGS = [
    "gpu",
    "gpuLayers",
    "threads",
    "ctxSize",
    "batchSize",
    "flashAttn",
    "cacheTypeK",
    "cacheTypeV",
    "mmproj",
    "asrModel",
    "asrMmproj",
    "maxImageTokens",
    "imageMaxPixels",
    "encoderIdleUnload",
];

export function addRemoteOptions(cmd: Command): Command {
    return cmd
        .option(
            "--url <url>",
            "use the OpenAI-compatible engine at this address (autoglm serve, llama-server, vLLM, SGLang; with or without /v1) instead of loading a model; --model then names the served model (default: the only one it serves)",
        )
        .option("--api-key <key>", "the key --url's server asks for (sent as Authorization: Bearer)");
}

/** Refuses, with --url, the flags given on the command line that only a local model takes; without --url, the remote-only ones. */
export function checkRemoteFlags(cmd: Command, f: RemoteFlags, localOnly: string[], remoteOnly: string[]): void {
    const given = (name: string) => cmd.getOptionValueSource(name) === "cli";
    const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (f.url) {
        const local = localOnly.find(given);
        if (local) throw new UserError(`${flag(local)} applies to a local model; with --url the server at ${f.url} decides it`);
    } else {
        const remote = remoteOnly.find(given); // AUTOGLM_API_KEY set for `serve` does not stop a local bench
        if (remote) throw new UserError(`${flag(remote)} applies to a remote engine: give --url (or AUTOGLM_URL)`);
    }
}

/** One line on the engine: where, which model, who serves it, its context, what it takes. */
export function remoteStatusLine(engine: RemoteEngine): string {
    const c = engine.capabilities;
    const takes = (v: boolean | undefined, what: string) => (v === undefined ? `${what} unknown` : v ? what : `no ${what}`);
    // The model's name and the server's come from the server: no escape sequence reaches the terminal.
    return escapeControls(
        [
            `engine ${engine.info.where}`,
            `model ${c.model}`,
            ...(c.server ? [`served by ${c.server}`] : []),
            c.contextTokens ? `context ${c.contextTokens} tokens per request` : "context not published",
            `${takes(c.vision, "images")}, ${takes(c.audio, "audio")}`,
            ...(c.slots ? [`${c.slots} slot(s)`] : []),
        ].join(" | "),
    );
}

/** Opens the engine --url names (Ctrl-C stops the discovery) and logs its status line. */
export async function openRemote(f: RemoteFlags, cmd: Command, log: (line: string) => void): Promise<RemoteEngine> {
    const { RemoteEngine } = await import("../remote/remote-engine.js"); // undici loads only with --url
    const modelFlag = cmd.getOptionValueSource("model") === "env" ? "AUTOGLM_MODEL" : "--model";
    const engine = await withInterrupt((signal) => RemoteEngine.open({ url: f.url!, apiKey: f.apiKey, model: f.model, modelFlag, signal }));
    log(remoteStatusLine(engine));
    return engine;
}
