// `autoglm serve`: the OpenAI-compatible server. It listens at once (/health says "loading"),
// opens a runtime of --parallel N slots over one context, then serves; SIGINT/SIGTERM stop accepting,
// cancel running streams, free the model and exit 0.

import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { UserError } from "../../core/errors.js";
import { readGguf } from "../../core/gguf/reader.js";
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

interface ServeFlags extends ModelFlags, MediaFlags {
    host: string;
    port: number;
    apiKey?: string;
    apiKeyFile?: string;
    parallel: number;
    queue: number;
    servedModelName: string;
    maxBodyMb: number;
    allowRemoteMedia?: boolean;
    allowLocalMedia?: boolean;
    webui: boolean;
    reasoningFormat: "auto" | "none" | "deepseek";
    ssePingInterval: number;
    logFormat: LogFormat;
    accessLog: boolean;
}

function apiKey(f: ServeFlags): string | undefined {
    if (f.apiKey && f.apiKeyFile) throw new UserError("give --api-key or --api-key-file, not both");
    if (!f.apiKeyFile) return f.apiKey || undefined;
    let key: string;
    try {
        key = readFileSync(f.apiKeyFile, "utf8").trim();
    } catch (e) {
        throw new UserError(`cannot read the API key file ${f.apiKeyFile}: ${(e as Error).message}`);
    }
    if (!key) throw new UserError(`the API key file ${f.apiKeyFile} is empty`);
    return key;
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
        .option("--host <address>", "address to listen on", "127.0.0.1")
        .option("--port <n>", "port", numberOption("--port", { integer: true }), 8000)
        .option("--api-key <key>", "require this bearer key on /v1/* and /metrics")
        .option("--api-key-file <file>", "read the key from a file (keeps it out of the process list)")
        .option(
            "--parallel <n>",
            "slots: requests generated at once, their decode steps batched",
            numberOption("--parallel", { integer: true, positive: true }),
            1,
        )
        .option("--queue <n>", "requests that may wait for a slot before 503s", numberOption("--queue", { integer: true }), 64)
        .option("--served-model-name <name>", "the model id clients use", "autoglm-phone-9b")
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
        .option("--allow-remote-media", "fetch http(s) image URLs (off: refused, no server-side request forgery)")
        .option("--allow-local-media", "read images from local paths in requests (off: refused)")
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
        .action(async (f: ServeFlags) => {
            const log = (line: string) => process.stderr.write(`${line}\n`);
            if (f.port < 0 || f.port > 65535) throw new UserError(`--port must be 0..65535, got ${f.port}`);
            if (f.queue < 0) throw new UserError(`--queue must be >= 0, got ${f.queue}`);
            const key = apiKey(f);
            const settings = settingsFrom(f); // --ctx-size is per slot
            const encoder = await encoderFromFlags(f);
            const speech = f.asrModel || f.asrMmproj ? await speechModelFromFlags(f, log) : undefined;

            const { buildApp } = await import("../../server/app.js"); // fastify loads only when serving
            const server = buildApp({
                servedName: f.servedModelName,
                apiKey: key,
                bodyLimit: Math.round(f.maxBodyMb * 2 ** 20),
                media: { allowRemote: Boolean(f.allowRemoteMedia), allowLocal: Boolean(f.allowLocalMedia), maxRemoteBytes: 64 * 2 ** 20 },
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
            const { modelMeta } = await import("../../server/routes/models.js");
            server.attach({ engine: runtime, meta: modelMeta(runtime, parameters), gauges: () => runtime.gauges() });
            const images = encoder.encoderCaps?.vision
                ? ` | images via ${encoder.mmproj} (loaded on first use; up to ${f.imageMaxPixels} px, ${runtime.imageMaxTokens} tokens)`
                : "";
            log(
                `ready: ${f.parallel} slot(s) x ${runtime.slotCells} tokens (${runtime.contextNote}) | model "${f.servedModelName}"${images}${speech ? ` | audio via ${speech.model}` : ""} | RAM ${formatBytes(process.memoryUsage().rss)}${key ? " | API key required" : ""}${f.webui ? ` | web chat page at ${address}/` : ""}`,
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
