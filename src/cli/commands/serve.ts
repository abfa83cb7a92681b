// `autoglm serve`: the OpenAI-compatible server. It listens at once (/health says "loading"),
// opens a runtime of --parallel N slots over one context, then serves; SIGINT/SIGTERM stop accepting,
// cancel running streams, free the model and exit 0.

import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { Command, Option } from "commander";
import { UserError } from "../../core/errors.js";
import { readGguf } from "../../core/gguf/reader.js";
import { parseAllowedHosts } from "../../server/host-check.js";
import { mediaFolder } from "../../server/local-media.js";
import { formatAccess, type LogFormat } from "../../server/access-log.js";
import { formatBytes } from "../format.js";
import {
    addMediaOptions,
    addModelOptions,
    encoderFromFlags,
    modelPath,
    settingsFrom,
    speechModelFromFlags,
    statusLine,
    type MediaFlags,
    type ModelFlags,
} from "../model-options.js";
import { openLocalEngine } from "../../engine/local-engine.js";
import type { Runtime } from "../../engine/runtime.js";
import { samplingLines } from "../../engine/sampling-defaults.js";
import { numberOption } from "../parse.js";
import { setLibraryLogs } from "../../engine/library-log.js";

/** The id clients see: AutoGLM-Phone-9B's (what Open-AutoGLM sends), but never for the random-weight demo model. */
const SERVED_NAME = { model: "autoglm-phone-9b", demo: "autoglm-demo" } as const;

/** The most bytes one request's image URLs and local files may give together. */
const MEDIA_MAX_BYTES = 64 * 2 ** 20;

interface ServeFlags extends ModelFlags, MediaFlags {
    host: string;
    port: number;
    apiKey?: string;
    apiKeyFile?: string;
    parallel: number;
    queue: number;
    servedModelName?: string;
    verbose?: boolean;
    maxBodyMb: number;
    allowRemoteMedia?: boolean;
    /** A folder; `true` is the old switch form, refused with a message. */
    allowLocalMedia?: string | boolean;
    mediaAllowedHosts?: string;
    mediaTimeout: number;
    allowedHosts?: string;
    maxTokens: number;
    maxTokensLimit: number;
    requestTimeout: number;
    maxClientRequests?: number;
    isolateCache?: boolean;
    webui: boolean;
    reasoningFormat: "auto" | "none" | "deepseek";
    ssePingInterval: number;
    logFormat: LogFormat;
    accessLog: boolean;
}

/** The keys --api-key (comma-separated, as llama-server's) or --api-key-file (one per line) give; none: no key needed. */
function apiKeys(f: ServeFlags): string[] {
    if (f.apiKey && f.apiKeyFile) throw new UserError("give --api-key or --api-key-file, not both");
    if (!f.apiKeyFile)
        return (f.apiKey ?? "")
            .split(",")
            .map((k) => k.trim())
            .filter((k) => k.length > 0);
    let text: string;
    try {
        text = readFileSync(f.apiKeyFile, "utf8");
    } catch (e) {
        throw new UserError(`cannot read the API key file ${f.apiKeyFile}: ${(e as Error).message}`);
    }
    const keys = text
        .split(/\r?\n/)
        .map((k) => k.trim())
        .filter((k) => k.length > 0);
    if (keys.length === 0) throw new UserError(`the API key file ${f.apiKeyFile} is empty`);
    return keys;
}

const LOOPBACK_NAMES = /^(localhost|.*\.localhost)$/i;

/** Start-up warnings: a server others can reach without a key, a key file others can read. */
function securityWarnings(f: ServeFlags, keys: readonly string[]): string[] {
    const out: string[] = [];
    const host = f.host.replace(/^\[(.*)\]$/, "$1");
    const loopback = LOOPBACK_NAMES.test(host) || (isIP(host) !== 0 && /^(127\.|::1$|::ffff:127\.)/i.test(host));
    if (!loopback && keys.length === 0)
        out.push(
            `warning: --host ${f.host} accepts connections from other machines and no API key is set: anyone who can reach port ${f.port} can use the model (give --api-key or --api-key-file)`,
        );
    if (f.apiKeyFile && process.platform !== "win32") {
        const mode = statSync(f.apiKeyFile).mode;
        if (mode & 0o044)
            out.push(
                `warning: the API key file ${f.apiKeyFile} can be read by other users (mode ${(mode & 0o777).toString(8).padStart(3, "0")}): chmod 600 ${f.apiKeyFile}`,
            );
    }
    return out;
}

/** --allow-local-media takes the one folder requests may read from; the old switch form says so. */
function localFolder(f: ServeFlags): string | undefined {
    if (f.allowLocalMedia === undefined || f.allowLocalMedia === false) return undefined;
    if (f.allowLocalMedia === true)
        throw new UserError(
            "--allow-local-media now takes a folder: --allow-local-media DIR (requests may then read regular files inside DIR only)",
        );
    return mediaFolder(f.allowLocalMedia);
}

/** A comma-separated host list flag, each entry checked. */
function hostList(flag: string, value: string | undefined): string[] {
    try {
        return value ? parseAllowedHosts(value) : [];
    } catch (e) {
        throw new UserError(`${flag}: ${(e as Error).message}`);
    }
}

/** -1 (none) or a positive count of tokens. */
function tokenCount(flag: string) {
    return (value: string): number => {
        const n = Number(value);
        if (value.trim() === "" || !Number.isInteger(n) || (n < 1 && n !== -1))
            throw new UserError(`${flag} must be a positive number of tokens or -1 (none), got ${JSON.stringify(value)}`);
        return n;
    };
}

export function serveCommand(): Command {
    return addMediaOptions(
        addModelOptions(
            new Command("serve").description(
                "serve the model over an OpenAI-compatible HTTP API (chat completions, completions, models, metrics)",
            ),
        ),
        {
            mmproj: "the model's vision/audio encoder GGUF (loaded at the first image)",
            speech: true,
            imageTokens: true,
            imagePixels: true,
            idleUnload: true,
        },
    )
        .option(
            "--host <address>",
            "address to listen on; requests must name it, a loopback name or address, or an --allowed-hosts entry in their Host header (403 otherwise: DNS rebinding)",
            "127.0.0.1",
        )
        .option(
            "--allowed-hosts <hosts>",
            "more Host header values to serve, comma-separated: names or addresses, .example.com for a domain, * for any (turns the check off)",
        )
        .option("--port <n>", "port", numberOption("--port", { integer: true }), 8000)
        .option("--api-key <keys>", "require this bearer key on /v1/* and /metrics (several, comma-separated: one per client)")
        .option("--api-key-file <file>", "read the keys from a file, one per line (keeps them out of the process list)")
        .option(
            "--parallel <n>",
            "slots: requests generated at once, their decode steps batched",
            numberOption("--parallel", { integer: true, positive: true }),
            1,
        )
        .option("--queue <n>", "requests that may wait for a slot before 503s", numberOption("--queue", { integer: true }), 64)
        .option(
            "--served-model-name <name>",
            `the model id clients use (default: ${SERVED_NAME.model}; ${SERVED_NAME.demo} for the built-in demo model, which is not AutoGLM-Phone-9B)`,
        )
        .option(
            "--max-body-mb <n>",
            "largest request body (base64 screenshots are large)",
            numberOption("--max-body-mb", { positive: true }),
            32,
        )
        .addOption(
            new Option(
                "--reasoning-format <format>",
                "where thinking goes: none (raw <think>/<answer> text in content, as vLLM; Open-AutoGLM), deepseek (reasoning_content), auto (deepseek when a request sends return_reasoning or enable_thinking)",
            )
                .choices(["auto", "none", "deepseek"])
                .default("auto"),
        )
        .option(
            "--sse-ping-interval <seconds>",
            "send an SSE comment this often while a stream waits for its first token (0: never)",
            numberOption("--sse-ping-interval"),
            5,
        )
        .option(
            "--allow-remote-media",
            "fetch http(s) image URLs (off: refused); loopback, private and link-local addresses stay refused (no server-side request forgery)",
        )
        .option(
            "--media-allowed-hosts <hosts>",
            "hosts --allow-remote-media fetches whatever their address (comma-separated; .example.com for a domain)",
        )
        .option(
            "--media-timeout <seconds>",
            "the most a remote image may take, redirects included",
            numberOption("--media-timeout", { positive: true }),
            20,
        )
        .option(
            "--allow-local-media [dir]",
            "read images from paths and file:// URLs in requests, only regular files inside DIR (off: refused)",
        )
        .option(
            "-n, --max-tokens <n>",
            "answer tokens for a request that names no max_tokens (-1: until the context is full)",
            tokenCount("--max-tokens"),
            4096,
        )
        .option(
            "--max-tokens-limit <n>",
            "the most answer tokens any request gets; larger max_tokens are clamped (-1: no limit but the context)",
            tokenCount("--max-tokens-limit"),
            16384,
        )
        .option(
            "--request-timeout <seconds>",
            "time a client has to send a whole request; a slower or stalled one gets 408 and is disconnected (0: no limit)",
            numberOption("--request-timeout"),
            60,
        )
        .option(
            "--max-client-requests <n>",
            "requests one client (API key, else address) may have running or waiting at once; 429 beyond (default: --parallel plus half of --queue)",
            numberOption("--max-client-requests", { integer: true, positive: true }),
        )
        .option(
            "--isolate-cache",
            "a slot's cached prompt serves only the client that sent it, so cached_tokens reveals nothing across clients",
        )
        .addOption(
            new Option(
                "--log-format <format>",
                "the access log's lines on stderr (one per request: method, route, status, prompt/completion tokens, ms)",
            )
                .choices(["text", "json"])
                .default("text"),
        )
        .option("--no-access-log", "no line per request")
        .option("--no-webui", "do not serve the web chat page at /")
        .option(
            "--verbose",
            "also log llama.cpp's warnings and the lines every stopped answer makes it log (kept off by default: they are expected)",
        )
        .action(async (f: ServeFlags) => {
            const log = (line: string) => process.stderr.write(`${line}\n`);
            setLibraryLogs(f.verbose ? "verbose" : "errors");
            const servedName = f.servedModelName ?? (f.model ? SERVED_NAME.model : SERVED_NAME.demo);
            if (!f.model && !f.servedModelName)
                log(`the demo model is served as "${servedName}", not ${SERVED_NAME.model} (-m serves a real model under that name)`);
            if (f.port < 0 || f.port > 65535) throw new UserError(`--port must be 0..65535, got ${f.port}`);
            if (f.queue < 0) throw new UserError(`--queue must be >= 0, got ${f.queue}`);
            if (f.requestTimeout < 0) throw new UserError(`--request-timeout must be >= 0, got ${f.requestTimeout}`);
            const keys = apiKeys(f);
            const key = keys.length > 0;
            const localMedia = localFolder(f);
            const allowedHosts = hostList("--allowed-hosts", f.allowedHosts);
            const mediaHosts = hostList("--media-allowed-hosts", f.mediaAllowedHosts);
            for (const line of securityWarnings(f, keys)) log(line);
            const settings = settingsFrom(f); // --ctx-size is per slot
            const encoder = await encoderFromFlags(f);
            const speech = f.asrModel || f.asrMmproj ? await speechModelFromFlags(f, log) : undefined;

            const { buildApp } = await import("../../server/app.js"); // fastify loads only when serving
            const server = buildApp({
                servedName,
                apiKeys: keys,
                hosts: { bound: f.host, allowed: allowedHosts },
                limits: { defaultMaxTokens: f.maxTokens, maxTokensLimit: f.maxTokensLimit },
                requestTimeoutSeconds: f.requestTimeout,
                bodyLimit: Math.round(f.maxBodyMb * 2 ** 20),
                media: {
                    localFolder: localMedia,
                    remote: f.allowRemoteMedia ? { allowedHosts: mediaHosts } : undefined,
                    maxBytes: MEDIA_MAX_BYTES,
                    timeoutMs: Math.round(f.mediaTimeout * 1000),
                    onRefusal: log,
                },
                reasoningFormat: f.reasoningFormat,
                ssePingSeconds: f.ssePingInterval,
                webui: f.webui,
                onAccess: f.accessLog ? (e) => log(formatAccess(e, f.logFormat)) : undefined,
            });
            let address: string;
            try {
                address = await server.app.listen({ host: f.host, port: f.port });
            } catch (e) {
                throw new UserError(`cannot listen on ${f.host}:${f.port}: ${(e as Error).message}`);
            }
            log(`listening on ${address} (loading the model; /health answers 503 until it is ready)`);
            let runtime: Runtime;
            try {
                const path = await modelPath(f, log);
                log(`loading ${path}`);
                runtime = await openLocalEngine({
                    model: path,
                    load: { gpu: f.gpu, gpuLayers: f.gpuLayers },
                    context: settings,
                    slots: f.parallel,
                    queue: f.queue,
                    ...encoder,
                    maxImageTokens: f.maxImageTokens,
                    imageMaxPixels: f.imageMaxPixels,
                    idleSeconds: f.encoderIdleUnload || undefined,
                    speech: speech && (async () => speech),
                    onResource: (what, e) => log(`${what} ${e}`),
                });
                void runtime.template; // a model without a chat template fails now, not at the first request
            } catch (e) {
                await server.app.close();
                throw e;
            }
            log(await statusLine(runtime.loaded));
            for (const line of samplingLines(runtime.samplingDefaults, {}, "sampling defaults (a request's own fields win)")) log(line);
            const parameters = (await readGguf(runtime.loaded.path)).tensors.reduce(
                (n, t) => n + t.shape.reduce((a, b) => a * Number(b), 1),
                0,
            );
            // One client cannot hold every slot and the queue: by default it may fill the slots and half the queue.
            runtime.pool.configure({
                perClient: f.maxClientRequests ?? f.parallel + Math.ceil(f.queue / 2),
                isolate: Boolean(f.isolateCache),
            });
            const { modelMeta } = await import("../../server/routes/models.js");
            server.attach({ engine: runtime, meta: modelMeta(runtime, parameters), gauges: () => runtime.gauges() });
            const images = encoder.encoderCaps?.vision
                ? ` | images via ${encoder.mmproj} (loaded on first use; up to ${f.imageMaxPixels} px, ${runtime.imageMaxTokens} tokens)`
                : "";
            log(
                `ready: ${f.parallel} slot(s) x ${runtime.slotCells} tokens (${runtime.contextNote}) | model "${servedName}"${images}${speech ? ` | audio via ${speech.model}` : ""} | RAM ${formatBytes(process.memoryUsage().rss)}${key ? " | API key required" : ""}${f.webui ? ` | web chat page at ${address}/` : ""}`,
            );

            await new Promise<void>((resolve) => {
                const stop = (sig: string) => {
                    log(`${sig}: stopping (running requests are cancelled)`);
                    server.cancelAll();
                    resolve();
                };
                process.once("SIGINT", () => stop("SIGINT"));
                process.once("SIGTERM", () => stop("SIGTERM"));
            });
            await server.app.close();
            await runtime.dispose();
            log("stopped");
        });
}
