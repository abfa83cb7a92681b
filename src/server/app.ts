// The OpenAI-compatible HTTP surface (docs/server-contract.md) on fastify: routes, the
// API key check, OpenAI-style errors, SSE streaming. The model behind it is attached once loaded;
// until then /health says 503 and completions are refused with 503.

import { randomBytes, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { InternalError, UserError } from "../core/errors.js";
import { grammarFromJsonSchema, validateGrammar } from "../engine/grammar.js";
import type { Runtime, TurnOptions, TurnResult } from "../engine/runtime.js";
import { ContextOverflowError } from "../engine/sequence.js";
import { QueueFullError, WaitAbortedError, type Slot } from "../engine/slots.js";
import type { MediaPart } from "../engine/chat-template.js";
import type { Piece } from "../engine/thinking.js";
import { ApiError, errorBody } from "./errors.js";
import type { MediaSources } from "./media.js";
import { chatMessages } from "./messages.js";
import { Metrics } from "./metrics.js";
import { chatCompletionBody, completionBody, type ChatCompletionBody, type CompletionBody, type SamplingBody } from "./schemas.js";

export interface ServerOptions {
    servedName: string;
    apiKey?: string;
    /** Largest request body in bytes (base64 screenshots are large). */
    bodyLimit: number;
    media: MediaSources;
}

/** What the routes need once the model is loaded. */
export interface Backend {
    runtime: Runtime;
    /** Parameter count, from the GGUF's tensor shapes. */
    parameters: number;
}

const UNLIMITED = 2 ** 31 - 1;

const id = (prefix: string) => `${prefix}-${randomBytes(12).toString("hex")}`;

function sameKey(given: string, expected: string): boolean {
    const a = Buffer.from(given), b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
}

function finishReason(r: TurnResult): "stop" | "length" {
    return r.stats.reason === "length" ? "length" : "stop";
}

function usage(r: TurnResult) {
    const prompt = r.stats.reusedTokens + r.stats.evaluatedTokens;
    return { prompt_tokens: prompt, completion_tokens: r.stats.tokens.length, total_tokens: prompt + r.stats.tokens.length };
}

/** llama-server-style timings. */
function timings(r: TurnResult) {
    const s = r.stats, decoded = Math.max(0, s.tokens.length - 1);
    return {
        cache_n: s.reusedTokens, prompt_n: s.evaluatedTokens, prompt_ms: s.promptMs, prompt_per_second: s.promptMs > 0 ? (s.evaluatedTokens * 1000) / s.promptMs : 0,
        predicted_n: s.tokens.length, predicted_ms: s.decodeMs, predicted_per_second: s.decodeMs > 0 ? (decoded * 1000) / s.decodeMs : 0,
    };
}

/** Server-sent events on the raw response: headers go out with the first event. */
class EventStream {
    started = false;
    constructor(private readonly reply: FastifyReply) {}
    send(data: unknown): void {
        if (!this.started) {
            this.started = true;
            this.reply.hijack();
            this.reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
        }
        if (!this.reply.raw.writableEnded) this.reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
    }
    end(): void {
        if (!this.reply.raw.writableEnded) this.reply.raw.end("data: [DONE]\n\n");
    }
}

export function buildApp(opts: ServerOptions): { app: FastifyInstance; attach(b: Backend): void; cancelAll(): void } {
    let backend: Backend | undefined;
    const metrics = new Metrics();
    const running = new Set<AbortController>();
    const app = Fastify({
        bodyLimit: opts.bodyLimit,
        logger: false,
        // Wrong types are errors, not silently converted; unknown keys stay (and are ignored).
        ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    });

    const ready = (): Backend => {
        if (!backend) throw new ApiError(503, "the model is still loading", "loading");
        return backend;
    };

    const tooLarge = () => new ApiError(413, `the request body is larger than ${opts.bodyLimit} bytes`, "body_too_large");
    app.setErrorHandler((err: FastifyError | ApiError | Error, _req, reply) => {
        metrics.errors++;
        let e: ApiError;
        if (err instanceof ApiError) e = err;
        else if (err instanceof QueueFullError) e = new ApiError(503, err.message, "queue_full");
        else if (err instanceof WaitAbortedError) e = new ApiError(499, err.message, "client_closed");
        else if (err instanceof ContextOverflowError) e = new ApiError(400, err.message, "context_length_exceeded");
        else if (err instanceof UserError) e = new ApiError(400, err.message, "invalid_request");
        else if ((err as FastifyError).validation) e = new ApiError(400, `invalid request: ${err.message}`, "invalid_request");
        else if ((err as FastifyError).code === "FST_ERR_CTP_BODY_TOO_LARGE") e = tooLarge();
        else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) e = new ApiError((err as FastifyError).statusCode!, err.message, (err as FastifyError).code ?? null);
        else {
            process.stderr.write(`autoglm serve: internal error: ${err.stack ?? err.message}\n`);
            e = new ApiError(500, `internal error: ${err instanceof InternalError ? err.message : "see the server log"}`, "internal_error");
        }
        if (reply.sent || reply.raw.headersSent) return;
        void reply.code(e.status).send(errorBody(e));
    });
    /** An error after the stream started, as the error event's body (logged when it is autoglm's fault). */
    const streamError = (e: unknown): ApiError => {
        if (e instanceof ApiError) return e;
        if (e instanceof UserError) return new ApiError(400, e.message, "invalid_request");
        process.stderr.write(`autoglm serve: internal error: ${(e as Error).stack ?? e}\n`);
        return new ApiError(500, `internal error: ${(e as Error).message}`, "internal_error");
    };
    app.setNotFoundHandler((req, reply) => void reply.code(404).send(errorBody(new ApiError(404, `no route ${req.method} ${req.url}`, "not_found"))));

    app.addHook("onRequest", async (req) => {
        if (!opts.apiKey || req.url === "/health") return;
        const header = req.headers.authorization ?? "";
        const given = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
        if (!sameKey(given, opts.apiKey)) throw new ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", "invalid_api_key");
    });

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

    app.get("/health", async (_req, reply) => {
        if (!backend) return reply.code(503).send({ status: "loading" });
        return { status: "ok" };
    });

    app.get("/v1/models", async () => {
        const b = ready();
        const rt = b.runtime, loaded = rt.loaded;
        const meta = {
            n_params: b.parameters, size: loaded.model.size, n_ctx_train: loaded.model.trainContextSize, n_ctx: rt.slotCells,
            n_vocab: loaded.vocabSize, architecture: loaded.architecture,
            modalities: { text: true, vision: rt.media.sees, audio: rt.media.hears },
        };
        return { object: "list", data: [{ id: opts.servedName, object: "model", created: Math.floor(Date.now() / 1000), owned_by: "autoglm", meta }] };
    });

    app.get("/metrics", async (_req, reply) => {
        const b = backend;
        const pool = b?.runtime.pool;
        return reply.type("text/plain; version=0.0.4").send(metrics.render({ busySlots: pool?.busy ?? 0, slots: pool?.slots.length ?? 0, queued: pool?.queued ?? 0, speechModelsOpened: b?.runtime.speech?.opened ?? 0 }));
    });

    /** Sampling, limits and stop strings from the OpenAI fields (llama-server's defaults where absent). */
    const turnOptions = (body: SamplingBody, grammar: string | undefined): TurnOptions => {
        const sampling = ready().runtime.sampling({
            temperature: body.temperature ?? undefined, topK: body.top_k ?? undefined, topP: body.top_p ?? undefined, minP: body.min_p ?? undefined,
            frequencyPenalty: body.frequency_penalty ?? undefined, presencePenalty: body.presence_penalty ?? undefined, repeatPenalty: body.repeat_penalty ?? undefined,
            seed: body.seed ?? undefined, grammar,
        });
        const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
        return {
            sampling, maxTokens: (body as ChatCompletionBody).max_completion_tokens ?? body.max_tokens ?? UNLIMITED,
            stopStrings: stop.filter((s) => s.length > 0), ignoreEog: body.ignore_eos ?? undefined, // llama-server's ignore_eos
        };
    };

    /**
     * Runs one request on a slot: waits for one (the slot whose cache shares most with `promptText`),
     * cancels when the client goes away, and releases it.
     */
    const onSlot = async (req: FastifyRequest, reply: FastifyReply, promptText: string, run: (slot: Slot, signal: AbortSignal) => Promise<TurnResult>): Promise<TurnResult> => {
        const rt = ready().runtime;
        const abort = new AbortController();
        reply.raw.on("close", () => { if (!reply.raw.writableFinished) abort.abort(); });
        req.raw.on("aborted", () => abort.abort());
        running.add(abort);
        try {
            const slot = await rt.acquire(promptText, abort.signal);
            try {
                const r = await run(slot, abort.signal);
                metrics.record(r.stats);
                return r;
            } finally {
                rt.release(slot);
            }
        } finally {
            running.delete(abort);
        }
    };

    /** A request that would wait in a full queue is refused before its media are decoded. */
    const requireRoom = () => {
        if (ready().runtime.pool.full) throw new QueueFullError("all slots are busy and the queue is full; try again later");
    };

    const responseGrammar = async (format: ChatCompletionBody["response_format"], gbnf: string | null | undefined): Promise<string | undefined> => {
        const llama = ready().runtime.loaded.llama;
        if (gbnf) {
            try {
                await validateGrammar(llama, gbnf);
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
        const returnReasoning = body.return_reasoning ?? true;
        requireRoom();
        const messages = await chatMessages(body.messages, opts.media, b.runtime.media);
        const options = turnOptions(body, await responseGrammar(body.response_format, body.grammar));
        const created = Math.floor(Date.now() / 1000), cid = id("chatcmpl");
        const chunk = (delta: object, finish: string | null = null) => ({ id: cid, object: "chat.completion.chunk", created, model: opts.servedName, choices: [{ index: 0, delta, finish_reason: finish }] });
        const text = b.runtime.render(messages, enableThinking); // once per request
        const media = messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.filter((p): p is MediaPart => p.type !== "text")));
        const respond = (slot: Slot, signal: AbortSignal, onPiece?: (p: Piece) => void) => b.runtime.respond(slot, text, media, { ...options, signal, onPiece });

        if (!body.stream) {
            const r = await onSlot(req, reply, text, (slot, signal) => respond(slot, signal));
            const message: Record<string, string> = { role: "assistant", content: r.content };
            if (returnReasoning && r.reasoning) message.reasoning_content = r.reasoning;
            return { id: cid, object: "chat.completion", created, model: opts.servedName, choices: [{ index: 0, message, finish_reason: finishReason(r) }], usage: usage(r), timings: timings(r) };
        }
        const events = new EventStream(reply);
        const onPiece = (p: Piece) => {
            if (!events.started) events.send(chunk({ role: "assistant", content: "" })); // LangChain JS needs the role first
            if (p.kind === "reasoning") { if (returnReasoning) events.send(chunk({ reasoning_content: p.text })); }
            else events.send(chunk({ content: p.text }));
        };
        let r: TurnResult;
        try {
            r = await onSlot(req, reply, text, (slot, signal) => respond(slot, signal, onPiece));
        } catch (e) {
            if (!events.started) throw e;
            events.send(errorBody(streamError(e)));
            events.end();
            return reply;
        }
        if (!events.started) events.send(chunk({ role: "assistant", content: "" }));
        events.send({ ...chunk({}, finishReason(r)), timings: timings(r) });
        if (body.stream_options?.include_usage) events.send({ id: cid, object: "chat.completion.chunk", created, model: opts.servedName, choices: [], usage: usage(r) });
        events.end();
        return reply;
    });

    app.post("/v1/completions", { schema: { body: completionBody } }, async (req, reply) => {
        const rt = ready().runtime;
        metrics.requests++;
        const body = req.body as CompletionBody;
        const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0]!;
        const options = turnOptions(body, undefined);
        const created = Math.floor(Date.now() / 1000), cid = id("cmpl");
        const chunk = (text: string, finish: string | null = null) => ({ id: cid, object: "text_completion", created, model: opts.servedName, choices: [{ index: 0, text, finish_reason: finish, logprobs: null }] });
        if (!body.stream) {
            const r = await onSlot(req, reply, prompt, (slot, signal) => rt.complete(slot, prompt, { ...options, signal }));
            return { ...chunk(r.raw, finishReason(r)), usage: usage(r), timings: timings(r) };
        }
        const events = new EventStream(reply);
        let r: TurnResult;
        try {
            r = await onSlot(req, reply, prompt, (slot, signal) => rt.complete(slot, prompt, { ...options, signal, onPiece: (p) => events.send(chunk(p.text)) }));
        } catch (e) {
            if (!events.started) throw e;
            events.send(errorBody(streamError(e)));
            events.end();
            return reply;
        }
        events.send(chunk("", finishReason(r)));
        if (body.stream_options?.include_usage) events.send({ id: cid, object: "text_completion", created, model: opts.servedName, choices: [], usage: usage(r) });
        events.end();
        return reply;
    });

    return {
        app,
        attach(b: Backend) { backend = b; },
        cancelAll() { for (const a of running) a.abort(); },
    };
}
