// `autoglm serve`: the OpenAI-compatible server. It listens at once (/health says "loading"),
// opens a runtime of --parallel N slots over one context, then serves; SIGINT/SIGTERM stop accepting,
// cancel running streams, free the model and exit 0.

import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { UserError } from "../../core/errors.js";
import { readGguf } from "../../core/gguf/reader.js";
import { ApiError } from "../../server/errors.js";
import { formatAccess, type LogFormat } from "../../server/access-log.js";
import { formatBytes } from "../format.js";
import {
    addModelOptions,
    encoderFromFlags,
    modelPath,
    settingsFrom,
    speechModelFromFlags,
    statusLine,
    type ModelFlags,
} from "../model-options.js";
import { Runtime } from "../../engine/runtime.js";
import { samplingLines } from "../../engine/sampling-defaults.js";
import { numberOption } from "../parse.js";
import { setLibraryLogs } from "../../engine/library-log.js";

/** The id clients see: AutoGLM-Phone-9B's (what Open-AutoGLM sends), but never for the random-weight demo model. */
const SERVED_NAME = { model: "autoglm-phone-9b", demo: "autoglm-demo" } as const;

interface ServeFlags extends ModelFlags {
    mmproj?: string;
    asrModel?: string;
    asrMmproj?: string;
    host: string;
    port: number;
    apiKey?: string;
    apiKeyFile?: string;
    parallel: number;
    queue: number;
    servedModelName?: string;
    verbose?: boolean;
    maxBodyMb: number;
    maxImageTokens?: number;
    imageMaxPixels: number;
    encoderIdleUnload: number;
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
    return addModelOptions(
        new Command("serve").description(
            "serve the model over an OpenAI-compatible HTTP API (chat completions, completions, models, metrics)",
        ),
    )
        .option("--mmproj <file>", "the model's vision/audio encoder GGUF (loaded at the first image)")
        .option("--asr-model <file>", "speech model for audio input when the model cannot hear (GLM-ASR)")
        .option("--asr-mmproj <file>", "the speech model's audio encoder")
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
        .option(
            "--max-image-tokens <n>",
            "scale images down to at most this many image tokens",
            numberOption("--max-image-tokens", { integer: true, positive: true }),
        )
        .option(
            "--image-max-pixels <n>",
            "scale larger images down to this many pixels as vLLM's GLM-4.1V processor does (Open-AutoGLM: 5000000)",
            numberOption("--image-max-pixels", { integer: true, positive: true }),
            5_000_000,
        )
        .option(
            "--encoder-idle-unload <seconds>",
            "release encoders and the speech model after this long unused (0: keep)",
            numberOption("--encoder-idle-unload"),
            0,
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
            const key = apiKey(f);
            const settings = settingsFrom(f); // --ctx-size is per slot
            const encoder = await encoderFromFlags(f);
            const speech = f.asrModel || f.asrMmproj ? await speechModelFromFlags(f, log) : undefined;

            const { buildApp } = await import("../../server/app.js"); // fastify loads only when serving
            const server = buildApp({
                servedName,
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
                runtime = await Runtime.open({
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
            server.attach({ runtime, parameters });
            const images = encoder.encoderCaps?.vision
                ? ` | images via ${encoder.mmproj} (loaded on first use; up to ${f.imageMaxPixels} px, ${runtime.imageMaxTokens} tokens)`
                : "";
            log(
                `ready: ${f.parallel} slot(s) x ${runtime.slotCells} tokens (${runtime.contextNote}) | model "${servedName}"${images}${speech ? ` | audio via ${speech.model}` : ""} | RAM ${formatBytes(process.memoryUsage().rss)}${key ? " | API key required" : ""}${f.webui ? ` | web chat page at ${address}/` : ""}`,
            );

            await new Promise<void>((resolve) => {
                const stop = (sig: string) => {
                    log(`${sig}: stopping (running requests are cancelled)`);
                    runtime.pool.drain(new ApiError(503, "the server is shutting down", "shutting_down"));
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
