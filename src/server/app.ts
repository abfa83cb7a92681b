// The OpenAI-compatible HTTP surface (docs/server-contract.md) on fastify: routes, the
// API key check, OpenAI-style errors, SSE streaming. The model behind it is attached once loaded;
// until then /health says 503 and completions are refused with 503.

import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { ResourceLoadError, UserError } from "../core/errors.js";
import { grammarFromJsonSchema, validateGrammar } from "../engine/grammar.js";
import type { Runtime, TurnOptions, TurnResult } from "../engine/runtime.js";
import { ContextOverflowError } from "../engine/sequence.js";
import { ClientLimitError, QueueFullError, WaitAbortedError, type Place, type Slot } from "../engine/slots.js";
import type { ChatMessage, MediaPart } from "../engine/chat-template.js";
import type { Piece } from "../engine/thinking.js";
import type { AccessEntry } from "./access-log.js";
import { apiKeyCheck, clientOf } from "./auth.js";
import { ApiError, errorBody } from "./errors.js";
import { hostCheck, type HostPolicy } from "./host-check.js";
import { answerTokens, requestTimeoutOptions, type AnswerLimits } from "./limits.js";
import type { MediaSources } from "./media.js";
import { decodeMessages, planMessages, type MessagePlan } from "./messages.js";
import { Metrics } from "./metrics.js";
import {
    chatCompletionBody,
    completionBody,
    requestSeed,
    schemaError,
    type ChatCompletionBody,
    type CompletionBody,
    type SamplingBody,
} from "./schemas.js";
import { webuiPlugin } from "./webui/plugin.js";

export interface ServerOptions {
    servedName: string;
    /** Bearer keys, any of which is accepted (none: no key needed); with several, each is a client of its own. */
    apiKeys: string[];
    /** Which Host headers are served (host-check.ts). */
    hosts: HostPolicy;
    /** max_tokens' default and maximum. */
    limits: AnswerLimits;
    /** Seconds a client has to send a whole request (0: no limit). */
    requestTimeoutSeconds: number;
    /** Largest request body in bytes (base64 screenshots are large). */
    bodyLimit: number;
    media: MediaSources;
    /**
     * Where the model's thinking goes: "deepseek" splits it into reasoning_content; "none" leaves
     * the raw text, <think>/<answer> tags included, in content (vLLM without a reasoning parser, as
     * Open-AutoGLM runs it); "auto" splits only for clients that ask (return_reasoning or enable_thinking).
     */
    reasoningFormat: ReasoningFormat;
    /** Seconds between SSE comment pings while a stream waits for its first token (0: none). */
    ssePingSeconds: number;
    /** Called once per answered request (the access log). */
    onAccess?: (entry: AccessEntry) => void;
    /** Serve the web chat page at / (src/server/webui/). */
    webui: boolean;
}

export type ReasoningFormat = "auto" | "none" | "deepseek";

/** What the routes need once the model is loaded. */
export interface Backend {
    runtime: Runtime;
    /** Parameter count, from the GGUF's tensor shapes. */
    parameters: number;
}

const id = (prefix: string) => `${prefix}-${randomBytes(12).toString("hex")}`;

function finishReason(r: TurnResult): "stop" | "length" {
    return r.stats.reason === "length" ? "length" : "stop";
}

function usage(r: TurnResult) {
    const prompt = r.stats.reusedTokens + r.stats.evaluatedTokens;
    return {
        prompt_tokens: prompt,
        completion_tokens: r.stats.tokens.length,
        total_tokens: prompt + r.stats.tokens.length,
        prompt_tokens_details: { cached_tokens: r.stats.reusedTokens },
    };
}

/** llama-server-style timings. */
function timings(r: TurnResult) {
    const s = r.stats,
        decoded = Math.max(0, s.tokens.length - 1);
    return {
        cache_n: s.reusedTokens,
        prompt_n: s.evaluatedTokens,
        prompt_ms: s.promptMs,
        prompt_per_second: s.promptMs > 0 ? (s.evaluatedTokens * 1000) / s.promptMs : 0,
        predicted_n: s.tokens.length,
        predicted_ms: s.decodeMs,
        predicted_per_second: s.decodeMs > 0 ? (decoded * 1000) / s.decodeMs : 0,
    };
}

/** Server-sent events on the raw response; `open` sends the headers, pings keep idle clients and proxies waiting. */
class EventStream {
    started = false;
    private lastWrite = 0;
    private pinger?: NodeJS.Timeout;
    constructor(private readonly reply: FastifyReply) {}
    open(pingSeconds = 0): void {
        if (this.started) return;
        this.started = true;
        this.reply.hijack();
        this.reply.raw.writeHead(200, {
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            connection: "keep-alive",
            "x-accel-buffering": "no",
        });
        this.reply.raw.flushHeaders();
        this.lastWrite = Date.now();
        if (pingSeconds > 0) {
            this.pinger = setInterval(
                () => {
                    if (Date.now() - this.lastWrite >= pingSeconds * 1000) this.write(": ping\n\n");
                },
                Math.max(100, (pingSeconds * 1000) / 2),
            );
            this.pinger.unref();
        }
    }
    send(data: unknown): void {
        this.open();
        this.write(`data: ${JSON.stringify(data)}\n\n`);
    }
    end(): void {
        clearInterval(this.pinger);
        if (!this.reply.raw.writableEnded) this.reply.raw.end("data: [DONE]\n\n");
    }
    private write(s: string): void {
        if (this.reply.raw.writableEnded || this.reply.raw.destroyed) return;
        this.reply.raw.write(s);
        this.lastWrite = Date.now();
    }
}

export function buildApp(opts: ServerOptions): { app: FastifyInstance; attach(b: Backend): void; cancelAll(): void } {
    let backend: Backend | undefined;
    const metrics = new Metrics();
    const running = new Set<AbortController>();
    // A completion's request, and the tokens it used, for the access log.
    const requestOf = new WeakMap<AbortController, FastifyRequest>();
    const tokensOf = new WeakMap<FastifyRequest, { prompt: number; completion: number }>();
    let stopping = false;
    const app = Fastify({
        bodyLimit: opts.bodyLimit,
        logger: false,
        // Wrong types are errors, not silently converted; unknown keys stay (and are ignored).
        ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
        schemaErrorFormatter: schemaError,
        ...requestTimeoutOptions(opts.requestTimeoutSeconds),
    });
    // Before anything else, the web page and /health included: a forged Host is a 403 (DNS rebinding).
    app.addHook("onRequest", hostCheck(opts.hosts));

    const ready = (): Backend => {
        if (!backend) throw new ApiError(503, "the model is still loading", "loading");
        return backend;
    };

    const tooLarge = () => new ApiError(413, `the request body is larger than ${opts.bodyLimit} bytes`, "body_too_large");
    /** Every failure as the one API error it answers with (logged when it is autoglm's fault). */
    const toApiError = (err: unknown): ApiError => {
        const f = err as FastifyError;
        if (err instanceof ApiError) return err;
        if (err instanceof QueueFullError) return new ApiError(503, err.message, "queue_full");
        if (err instanceof ClientLimitError) return new ApiError(429, err.message, "too_many_requests");
        if (err instanceof WaitAbortedError) return new ApiError(499, err.message, "client_closed");
        if (err instanceof ResourceLoadError) {
            process.stderr.write(`autoglm serve: the ${err.resource} failed to load: ${err.message}\n`);
            return new ApiError(
                503,
                `the ${err.resource} of this server failed to load; the operator can see why in the server log`,
                "resource_unavailable",
            );
        }
        if (err instanceof ContextOverflowError) return new ApiError(400, err.message, "context_length_exceeded");
        if (err instanceof UserError) return new ApiError(400, err.message, "invalid_request");
        if (f?.validation) return new ApiError(400, `invalid request: ${f.message}`, "invalid_request");
        if (f?.code === "FST_ERR_CTP_BODY_TOO_LARGE") return tooLarge();
        if (f?.statusCode && f.statusCode < 500) return new ApiError(f.statusCode, f.message, f.code ?? null);
        process.stderr.write(`autoglm serve: internal error: ${(err as Error)?.stack ?? err}\n`);
        return new ApiError(500, "internal error: see the server log", "internal_error"); // the log has the detail (and the server's paths)
    };
    app.setErrorHandler((err: FastifyError | ApiError | Error, _req, reply) => {
        metrics.errors++;
        const e = toApiError(err);
        if (reply.sent || reply.raw.headersSent) return;
        void reply.code(e.status).send(errorBody(e));
    });
    const streamError = toApiError;
    app.setNotFoundHandler(
        (req, reply) => void reply.code(404).send(errorBody(new ApiError(404, `no route ${req.method} ${req.url}`, "not_found"))),
    );

    // One hook for the access log; it runs for streams too (fastify waits for the response to finish).
    if (opts.onAccess) {
        const onAccess = opts.onAccess;
        app.addHook("onResponse", async (req, reply) => {
            const t = tokensOf.get(req);
            onAccess({
                method: req.method,
                route: req.routeOptions.url ?? req.url.split("?")[0]!,
                status: reply.raw.statusCode,
                promptTokens: t?.prompt,
                completionTokens: t?.completion,
                ms: reply.elapsedTime,
            });
        });
    }

    app.addHook("onRequest", apiKeyCheck(opts.apiKeys));

    // A declared body over the limit is read and dropped before the 413: closing a connection with
    // unread data resets it, and a client still sending would never see the answer.
    app.addHook("onRequest", async (req) => {
        if (Number(req.headers["content-length"] ?? 0) <= opts.bodyLimit) return;
        await new Promise<void>((resolve) => {
            for (const ev of ["end", "error", "close"]) req.raw.once(ev, () => resolve());
            req.raw.resume();
        });
        throw tooLarge();
    });

    if (opts.webui) void app.register(webuiPlugin);

    app.get("/health", async (_req, reply) => {
        if (!backend) return reply.code(503).send({ status: "loading" });
        return { status: "ok" };
    });

    const modelEntry = () => {
        const b = ready(),
            rt = b.runtime,
            loaded = rt.loaded;
        const meta = {
            n_params: b.parameters,
            size: loaded.model.size,
            n_ctx_train: loaded.model.trainContextSize,
            n_ctx: rt.slotCells,
            n_vocab: loaded.vocabSize,
            architecture: loaded.architecture,
            // Where it runs, for `autoglm ps`: the file (its name: a client learns nothing of the server's folders), the backend and the layers it took.
            file: basename(loaded.path),
            backend: loaded.backend,
            devices: loaded.devices,
            gpu_layers: loaded.gpuLayers,
            n_layers: loaded.totalLayers,
            n_slots: rt.pool.slots.length,
            modalities: { text: true, vision: rt.media.sees, audio: rt.media.hears },
            image_max_pixels: rt.media.sees ? rt.media.maxPixels : undefined,
            image_max_tokens: rt.media.sees ? rt.imageMaxTokens : undefined,
        };
        // max_model_len as vLLM reports it: the tokens one request may use (prompt and answer).
        return {
            id: opts.servedName,
            object: "model",
            created: Math.floor(Date.now() / 1000),
            owned_by: "autoglm",
            max_model_len: rt.slotCells,
            meta,
        };
    };
    app.get("/v1/models", async () => ({ object: "list", data: [modelEntry()] }));
    app.get("/v1/models/:id", async (req) => {
        const { id } = req.params as { id: string };
        if (id !== opts.servedName) throw new ApiError(404, `no model ${id} (this server serves ${opts.servedName})`, "model_not_found");
        return modelEntry();
    });

    app.get("/metrics", async (_req, reply) => {
        const b = backend;
        const pool = b?.runtime.pool;
        return reply.type("text/plain; version=0.0.4").send(
            metrics.render({
                busySlots: pool?.busy ?? 0,
                slots: pool?.slots.length ?? 0,
                queued: pool?.queued ?? 0,
                speechModelsOpened: b?.runtime.speech?.opened ?? 0,
                mediaDecoding: b?.runtime.media.decoding ?? 0,
            }),
        );
    });

    /** Sampling, limits and stop strings from the OpenAI fields (the model's defaults where absent, as llama-server). */
    const turnOptions = (body: SamplingBody, grammar: string | undefined): TurnOptions => {
        const sampling = ready().runtime.sampling({
            temperature: body.temperature ?? undefined,
            topK: body.top_k ?? undefined,
            topP: body.top_p ?? undefined,
            minP: body.min_p ?? undefined,
            frequencyPenalty: body.frequency_penalty ?? undefined,
            presencePenalty: body.presence_penalty ?? undefined,
            repeatPenalty: body.repeat_penalty ?? undefined,
            seed: requestSeed(body),
            grammar,
        });
        const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
        return {
            sampling,
            maxTokens: answerTokens(body, opts.limits),
            stopStrings: stop.filter((s) => s.length > 0),
            ignoreEog: body.ignore_eos ?? undefined, // llama-server's ignore_eos
        };
    };

    /**
     * Runs one request on a slot: waits for one (the slot whose cache shares most with `promptText`),
     * cancels when the client goes away, and releases it.
     */
    /**
     * A request's cancellation, watched from its start: a client that goes away while its media are
     * decoded or transcribed, or while it waits, costs nothing more; a shutdown cancels it too.
     */
    const watch = (req: FastifyRequest, reply: FastifyReply): AbortController => {
        const abort = new AbortController();
        reply.raw.on("close", () => {
            if (!reply.raw.writableFinished) abort.abort();
        });
        req.raw.on("aborted", () => abort.abort());
        if (reply.raw.destroyed || req.raw.socket?.destroyed || stopping) abort.abort(); // gone before we looked
        running.add(abort);
        requestOf.set(abort, req);
        abort.signal.addEventListener("abort", () => running.delete(abort), { once: true });
        reply.raw.on("finish", () => running.delete(abort));
        return abort;
    };

    /** Runs one request on a slot: waits for one (the slot whose cache shares most with `promptText`) and releases it. */
    const onSlot = async (
        abort: AbortController,
        promptText: string,
        run: (slot: Slot, signal: AbortSignal) => Promise<TurnResult>,
        place?: Place,
    ): Promise<TurnResult> => {
        const rt = ready().runtime;
        if (stopping) throw new ApiError(503, "the server is shutting down", "shutting_down");
        if (abort.signal.aborted) throw new WaitAbortedError("the client went away");
        const slot = await rt.acquire(promptText, abort.signal, place);
        try {
            const r = await run(slot, abort.signal);
            // Cut by a shutdown, not finished: the client must not take it for a whole answer.
            if (r.stats.reason === "aborted" && stopping)
                throw new ApiError(503, "the server is shutting down; the answer was cut", "shutting_down");
            metrics.record(r.stats);
            const req = requestOf.get(abort);
            if (req) tokensOf.set(req, { prompt: r.stats.reusedTokens + r.stats.evaluatedTokens, completion: r.stats.tokens.length });
            return r;
        } finally {
            rt.release(slot);
        }
    };

    const responseGrammar = async (
        format: ChatCompletionBody["response_format"],
        gbnf: string | null | undefined,
    ): Promise<string | undefined> => {
        const llama = ready().runtime.loaded.llama;
        if (gbnf) {
            try {
                await validateGrammar(llama, gbnf, ready().runtime.loaded.vocabSize);
            } catch (e) {
                throw new ApiError(400, (e as Error).message, "invalid_grammar");
            }
            return gbnf;
        }
        if (!format || format.type === "text") return undefined;
        try {
            if (format.type === "json_object") return (await llama.getGrammarFor("json")).grammar;
            return await grammarFromJsonSchema(llama, JSON.stringify(format.json_schema?.schema ?? {}));
        } catch (e) {
            throw new ApiError(400, `response_format: ${(e as Error).message}`, "invalid_response_format");
        }
    };

    app.post("/v1/chat/completions", { schema: { body: chatCompletionBody } }, async (req, reply) => {
        const b = ready();
        metrics.requests++;
        const body = req.body as ChatCompletionBody;
        const enableThinking = body.chat_template_kwargs?.enable_thinking ?? body.enable_thinking ?? undefined;
        const format = body.reasoning_format ?? opts.reasoningFormat;
        // auto: clients that speak of thinking get it apart; others (Open-AutoGLM) get the model's raw text.
        const split = format === "deepseek" || (format === "auto" && (body.return_reasoning != null || enableThinking != null));
        const returnReasoning = split && body.return_reasoning !== false;
        const plan = planMessages(body.messages, b.runtime.media); // media kinds and counts: 400 before anything is read
        // Its place in the slot queue first (or a 503): a request that is refused decodes nothing.
        const place = b.runtime.pool.reserve(clientOf(req, opts.apiKeys));
        try {
            return await answerChat(req, reply, b, body, plan, place, { enableThinking, split, returnReasoning });
        } finally {
            place.release();
        }
    });

    const answerChat = async (
        req: FastifyRequest,
        reply: FastifyReply,
        b: Backend,
        body: ChatCompletionBody,
        plan: MessagePlan,
        place: Place,
        t: { enableThinking?: boolean; split: boolean; returnReasoning: boolean },
    ) => {
        const { enableThinking, split, returnReasoning } = t;
        const abort = watch(req, reply);
        const created = Math.floor(Date.now() / 1000),
            cid = id("chatcmpl");
        const chunk = (delta: object, finish: string | null = null) => ({
            id: cid,
            object: "chat.completion.chunk",
            created,
            model: opts.servedName,
            choices: [{ index: 0, delta, finish_reason: finish }],
        });
        // A stream whose audio the speech model transcribes (a minute or more on a CPU) opens before it,
        // so pings keep the client alive; then a prompt that does not fit is an error event, not a 400.
        const events = body.stream && plan.audios > 0 && !b.runtime.media.hearsItself ? new EventStream(reply) : undefined;
        const transcripts: string[] = [];
        let messages: ChatMessage[];
        let options: TurnOptions, text: string, media: MediaPart[];
        try {
            if (events) {
                events.open(opts.ssePingSeconds);
                events.send(chunk({ role: "assistant", content: "" }));
            }
            messages = await decodeMessages(plan, opts.media, b.runtime.media, abort.signal, (t) => {
                transcripts.push(t);
                // An extension chunk with no choices (as the usage chunk): clients that know it show the transcript.
                events?.send({ id: cid, object: "chat.completion.chunk", created, model: opts.servedName, choices: [], transcript: t });
            });
            options = turnOptions(body, await responseGrammar(body.response_format, body.grammar));
            text = b.runtime.render(messages, enableThinking); // once per request
            media = messages.flatMap((m) =>
                typeof m.content === "string" ? [] : m.content.filter((p): p is MediaPart => p.type !== "text"),
            );
            b.runtime.requireFits(text, media);
        } catch (e) {
            if (!events) throw e;
            metrics.errors++;
            events.send(errorBody(streamError(e)));
            events.end();
            return reply;
        }
        const respond = (slot: Slot, signal: AbortSignal, onPiece?: (p: Piece) => void) =>
            b.runtime.respond(slot, text, media, { ...options, raw: !split, signal, onPiece });

        if (!body.stream) {
            const r = await onSlot(abort, text, (slot, signal) => respond(slot, signal), place);
            const message: Record<string, string> = { role: "assistant", content: r.content };
            if (returnReasoning && r.reasoning) message.reasoning_content = r.reasoning;
            return {
                id: cid,
                object: "chat.completion",
                created,
                model: opts.servedName,
                choices: [{ index: 0, message, finish_reason: finishReason(r) }],
                usage: usage(r),
                timings: timings(r),
                ...(transcripts.length ? { transcripts } : {}),
            };
        }
        // Headers and the role chunk go out now (LangChain JS needs the role first); pings follow
        // while the prompt (a screenshot: seconds on a CPU) is evaluated.
        const stream = events ?? new EventStream(reply);
        if (!events) {
            stream.open(opts.ssePingSeconds);
            stream.send(chunk({ role: "assistant", content: "" }));
        }
        const onPiece = (p: Piece) => {
            if (p.kind === "reasoning") {
                if (returnReasoning) stream.send(chunk({ reasoning_content: p.text }));
            } else stream.send(chunk({ content: p.text }));
        };
        let r: TurnResult;
        try {
            r = await onSlot(abort, text, (slot, signal) => respond(slot, signal, onPiece), place);
        } catch (e) {
            metrics.errors++;
            stream.send(errorBody(streamError(e)));
            stream.end();
            return reply;
        }
        stream.send({ ...chunk({}, finishReason(r)), timings: timings(r) });
        if (body.stream_options?.include_usage)
            stream.send({ id: cid, object: "chat.completion.chunk", created, model: opts.servedName, choices: [], usage: usage(r) });
        stream.end();
        return reply;
    };

    app.post("/v1/completions", { schema: { body: completionBody } }, async (req, reply) => {
        const rt = ready().runtime;
        metrics.requests++;
        const body = req.body as CompletionBody;
        const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0]!;
        const options = turnOptions(body, undefined);
        const place = rt.pool.reserve(clientOf(req, opts.apiKeys));
        try {
            return await answerCompletion(req, reply, rt, body, prompt, options, place);
        } finally {
            place.release();
        }
    });

    const answerCompletion = async (
        req: FastifyRequest,
        reply: FastifyReply,
        rt: Runtime,
        body: CompletionBody,
        prompt: string,
        options: TurnOptions,
        place: Place,
    ) => {
        const abort = watch(req, reply);
        const created = Math.floor(Date.now() / 1000),
            cid = id("cmpl");
        const chunk = (text: string, finish: string | null = null) => ({
            id: cid,
            object: "text_completion",
            created,
            model: opts.servedName,
            choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
        });
        if (!body.stream) {
            const r = await onSlot(abort, prompt, (slot, signal) => rt.complete(slot, prompt, { ...options, signal }), place);
            return { ...chunk(r.raw, finishReason(r)), usage: usage(r), timings: timings(r) };
        }
        const events = new EventStream(reply);
        let r: TurnResult;
        try {
            r = await onSlot(
                abort,
                prompt,
                (slot, signal) => rt.complete(slot, prompt, { ...options, signal, onPiece: (p) => events.send(chunk(p.text)) }),
                place,
            );
        } catch (e) {
            if (!events.started) throw e;
            events.send(errorBody(streamError(e)));
            events.end();
            return reply;
        }
        events.send(chunk("", finishReason(r)));
        if (body.stream_options?.include_usage)
            events.send({ id: cid, object: "text_completion", created, model: opts.servedName, choices: [], usage: usage(r) });
        events.end();
        return reply;
    };

    return {
        app,
        attach(b: Backend) {
            backend = b;
        },
        cancelAll() {
            stopping = true;
            for (const a of running) a.abort();
        },
    };
}
