// The OpenAI-compatible HTTP surface (../shared/docs/SERVER-CONTRACT.md) on fastify: routes, the
// API key check, OpenAI-style errors, SSE streaming. The model behind it is attached once loaded;
// until then /health says 503 and completions are refused with 503.

import { randomBytes, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { UserError } from "../core/errors.js";
import type { TurnResult, TurnOptions } from "../engine/chat.js";
import { grammarFromJsonSchema, validateGrammar } from "../engine/grammar.js";
import type { LazyResource } from "../engine/lazy-resource.js";
import type { EncoderCaps } from "../engine/media-answer.js";
import type { LoadedModel } from "../engine/model.js";
import type { NativeMedia, SamplingOptions } from "../engine/native.js";
import type { Piece } from "../engine/thinking.js";
import type { Transcriber } from "../engine/transcriber.js";
import { ApiError, errorBody } from "./errors.js";
import type { MediaPolicy } from "./media.js";
import { chatMessages, type AudioRoute } from "./messages.js";
import { Metrics } from "./metrics.js";
import { chatCompletionBody, completionBody, type ChatCompletionBody, type CompletionBody, type SamplingBody } from "./schemas.js";
import type { Slot, SlotPool } from "./slots.js";

export interface ServerOptions {
    servedName: string;
    apiKey?: string;
    /** Largest request body in bytes (base64 screenshots are large). */
    bodyLimit: number;
    media: MediaPolicy;
}

/** What the routes need once the model is loaded. */
export interface Backend {
    loaded: LoadedModel;
    pool: SlotPool;
    contextPerSlot: number;
    encoder?: LazyResource<NativeMedia>;
    transcriber?: Transcriber;
    /** Parameter count, from the GGUF's tensor shapes. */
    parameters: number;
    /** What the mmproj's encoders take in (from its header). */
    encoderCaps: EncoderCaps;
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
        else if (err instanceof UserError) e = new ApiError(400, err.message);
        else if ((err as FastifyError).validation) e = new ApiError(400, `invalid request: ${err.message}`, "invalid_request");
        else if ((err as FastifyError).code === "FST_ERR_CTP_BODY_TOO_LARGE") e = tooLarge();
        else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) e = new ApiError((err as FastifyError).statusCode!, err.message, (err as FastifyError).code ?? null);
        else {
            process.stderr.write(`autoglm serve: ${err.stack ?? err.message}\n`);
            e = new ApiError(500, "internal server error", "internal");
        }
        if (reply.sent || reply.raw.headersSent) return;
        void reply.code(e.status).send(errorBody(e));
    });
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
        const meta = {
            n_params: b.parameters, size: b.loaded.model.size, n_ctx_train: b.loaded.model.trainContextSize, n_ctx: b.contextPerSlot,
            n_vocab: b.loaded.vocabSize, architecture: b.loaded.architecture,
            modalities: { text: true, vision: b.encoderCaps.vision, audio: b.encoderCaps.audio || Boolean(b.transcriber) },
        };
        return { object: "list", data: [{ id: opts.servedName, object: "model", created: Math.floor(Date.now() / 1000), owned_by: "autoglm", meta }] };
    });

    app.get("/metrics", async (_req, reply) => {
        const b = backend;
        return reply.type("text/plain; version=0.0.4").send(metrics.render({ busySlots: b?.pool.busy ?? 0, slots: b?.pool.slots.length ?? 0, queued: b?.pool.queued ?? 0 }));
    });

    /** Sampling, limits and stop strings from the OpenAI fields (llama-server's defaults where absent). */
    const turnOptions = (body: SamplingBody, grammar: string | undefined): TurnOptions => {
        const sampling: SamplingOptions = {
            temperature: body.temperature ?? 0.8, topK: body.top_k ?? 40, topP: body.top_p ?? 0.95, minP: body.min_p ?? 0.05,
            frequencyPenalty: body.frequency_penalty ?? 0, presencePenalty: body.presence_penalty ?? 0, repeatPenalty: body.repeat_penalty ?? 1,
            seed: body.seed ?? Math.floor(Math.random() * 2 ** 31), grammar,
        };
        const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
        return {
            sampling, maxTokens: (body as ChatCompletionBody).max_completion_tokens ?? body.max_tokens ?? UNLIMITED,
            stopStrings: stop.filter((s) => s.length > 0), ignoreEog: body.ignore_eos ?? undefined, // llama-server's ignore_eos
        };
    };

    /**
     * Runs one request on a slot: waits for one, cancels when the client goes away, releases it with
     * what its cache now holds, and turns failures into API errors.
     */
    const onSlot = async (req: FastifyRequest, reply: FastifyReply, promptText: string, run: (slot: Slot, signal: AbortSignal) => Promise<TurnResult>): Promise<TurnResult> => {
        const b = ready();
        const abort = new AbortController();
        reply.raw.on("close", () => { if (!reply.raw.writableFinished) abort.abort(); });
        req.raw.on("aborted", () => abort.abort());
        running.add(abort);
        try {
            const slot = await b.pool.acquire(promptText, abort.signal);
            let held = "";
            try {
                const r = await run(slot, abort.signal);
                held = promptText + r.raw;
                metrics.record(r.stats);
                return r;
            } catch (e) {
                if (e instanceof UserError) throw new ApiError(400, e.message, "invalid_request");
                throw e;
            } finally {
                b.pool.release(slot, held);
            }
        } finally {
            running.delete(abort);
        }
    };

    const audioRoute: AudioRoute = async (samples) => {
        const b = ready();
        if (b.encoder && b.encoderCaps.audio) return { type: "audio", item: { samples } };
        if (!b.transcriber) throw new ApiError(400, "this server cannot hear audio: start it with --asr-model and --asr-mmproj (or an --mmproj with an audio encoder)", "audio_unsupported");
        const t = await b.transcriber.transcribe(samples, { maxTokens: 1024 });
        return { type: "text", text: `Transcript of the recording: ${t.content}\n` };
    };

    const responseGrammar = async (format: ChatCompletionBody["response_format"], gbnf: string | null | undefined): Promise<string | undefined> => {
        const llama = ready().loaded.llama;
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
        const messages = await chatMessages(body.messages, opts.media, audioRoute);
        const options = { ...turnOptions(body, await responseGrammar(body.response_format, body.grammar)), enableThinking };
        const created = Math.floor(Date.now() / 1000), cid = id("chatcmpl");
        const chunk = (delta: object, finish: string | null = null) => ({ id: cid, object: "chat.completion.chunk", created, model: opts.servedName, choices: [{ index: 0, delta, finish_reason: finish }] });
        const text = b.pool.slots[0]!.chat.promptText(messages, enableThinking);

        if (!body.stream) {
            const r = await onSlot(req, reply, text, (slot, signal) => slot.chat.respond(messages, { ...options, signal }, text));
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
            r = await onSlot(req, reply, text, (slot, signal) => slot.chat.respond(messages, { ...options, signal, onPiece }, text));
        } catch (e) {
            if (!events.started) throw e;
            const err = e instanceof ApiError ? e : new ApiError(500, (e as Error).message, "generation_failed");
            events.send(errorBody(err));
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
        ready();
        metrics.requests++;
        const body = req.body as CompletionBody;
        const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0]!;
        const options = turnOptions(body, undefined);
        const created = Math.floor(Date.now() / 1000), cid = id("cmpl");
        const chunk = (text: string, finish: string | null = null) => ({ id: cid, object: "text_completion", created, model: opts.servedName, choices: [{ index: 0, text, finish_reason: finish, logprobs: null }] });
        if (!body.stream) {
            const r = await onSlot(req, reply, prompt, (slot, signal) => slot.chat.complete(prompt, { ...options, signal }));
            return { ...chunk(r.raw, finishReason(r)), usage: usage(r), timings: timings(r) };
        }
        const events = new EventStream(reply);
        let r: TurnResult;
        try {
            r = await onSlot(req, reply, prompt, (slot, signal) => slot.chat.complete(prompt, { ...options, signal, onPiece: (p) => events.send(chunk(p.text)) }));
        } catch (e) {
            if (!events.started) throw e;
            events.send(errorBody(e instanceof ApiError ? e : new ApiError(500, (e as Error).message, "generation_failed")));
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
