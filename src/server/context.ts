// What the routes share: the options, the engine once it is attached, the counters, and running a
// turn for a request — cancelled when its client goes away or the server stops, counted, and cut
// answers turned into the shutdown's 503.

import type { FastifyReply, FastifyRequest } from "fastify";
import { CancelledError, ShuttingDownError } from "../engine/errors.js";
import type { RuntimeGauges } from "../engine/runtime.js";
import type { Engine, TurnEvent, TurnRequest, TurnResult } from "../engine/turn.js";
import type { AccessEntry } from "./access-log.js";
import { ApiError, errorBody, toApiError } from "./errors.js";
import type { MediaSources } from "./media.js";
import { Metrics } from "./metrics.js";
import type { ReasoningFormat } from "./openai-request.js";
import type { EventStream } from "./sse.js";

export interface ServerOptions {
    servedName: string;
    apiKey?: string;
    /** Largest request body in bytes (base64 screenshots are large). */
    bodyLimit: number;
    media: MediaSources;
    reasoningFormat: ReasoningFormat;
    /** Seconds between SSE comment pings while a stream waits for its first token (0: none). */
    ssePingSeconds: number;
    /** Called once per answered request (the access log). */
    onAccess?: (entry: AccessEntry) => void;
    /** Serve the web chat page at / (src/server/webui/). */
    webui: boolean;
}

/** What the routes need once the model is loaded. */
export interface Backend {
    engine: Engine;
    /** The model's facts for /v1/models (routes/models.ts modelMeta). */
    meta: Record<string, unknown>;
    /** The engine's load now, for /metrics. */
    gauges(): RuntimeGauges;
}

const shuttingDown = (message = "the server is shutting down") => new ApiError(503, message, "shutting_down");

export class ServerContext {
    backend?: Backend;
    readonly metrics = new Metrics();
    private stopping = false;
    private readonly running = new Set<AbortController>();
    /** The tokens a completion used, for the access log. */
    private readonly tokens = new WeakMap<FastifyRequest, { prompt: number; completion: number }>();

    constructor(readonly opts: ServerOptions) {}

    ready(): Backend {
        if (!this.backend) throw new ApiError(503, "the model is still loading", "loading");
        return this.backend;
    }

    tokensOf(req: FastifyRequest): { prompt: number; completion: number } | undefined {
        return this.tokens.get(req);
    }

    /** Stops accepting turns and cancels the running ones (they answer 503 shutting_down). */
    cancelAll(): void {
        this.stopping = true;
        for (const a of this.running) a.abort();
    }

    /**
     * Runs the request's turn, cancelled when the client goes away (while its media are read or
     * transcribed, while it waits, while it generates) or the server stops.
     */
    async run(req: FastifyRequest, reply: FastifyReply, request: TurnRequest, onEvent: (e: TurnEvent) => void): Promise<TurnResult> {
        const { engine } = this.ready();
        if (this.stopping) throw shuttingDown();
        const abort = this.watch(req, reply);
        try {
            const r = await engine.turn({ ...request, signal: abort.signal }, onEvent);
            // Cut by a shutdown, not finished: the client must not take it for a whole answer.
            if (r.finish === "aborted" && this.stopping) throw shuttingDown("the server is shutting down; the answer was cut");
            this.metrics.record(r);
            this.tokens.set(req, { prompt: r.usage.promptTokens, completion: r.usage.completionTokens });
            return r;
        } catch (e) {
            if (this.stopping && (e instanceof CancelledError || e instanceof ShuttingDownError)) throw shuttingDown();
            throw e;
        }
    }

    /**
     * run(), with a failure after `stream` started sent as its last events (undefined then) instead of
     * thrown: OpenAI's error body, or what `failed` makes of the error (the Responses API's response.failed).
     */
    async runStreamed(
        req: FastifyRequest,
        reply: FastifyReply,
        request: TurnRequest,
        onEvent: (e: TurnEvent) => void,
        stream: EventStream | undefined,
        failed?: (e: ApiError) => unknown[],
    ): Promise<TurnResult | undefined> {
        try {
            return await this.run(req, reply, request, onEvent);
        } catch (e) {
            if (!stream?.started) throw e;
            this.metrics.errors++;
            const error = toApiError(e, this.opts.bodyLimit);
            for (const event of failed ? failed(error) : [errorBody(error)]) stream.send(event);
            stream.end();
            return undefined;
        }
    }

    /** A request's cancellation, watched from its start; a shutdown cancels it too. */
    private watch(req: FastifyRequest, reply: FastifyReply): AbortController {
        const abort = new AbortController();
        reply.raw.on("close", () => {
            if (!reply.raw.writableFinished) abort.abort();
        });
        req.raw.on("aborted", () => abort.abort());
        if (reply.raw.destroyed || req.raw.socket?.destroyed || this.stopping) abort.abort(); // gone before we looked
        this.running.add(abort);
        abort.signal.addEventListener("abort", () => this.running.delete(abort), { once: true });
        reply.raw.on("finish", () => this.running.delete(abort));
        return abort;
    }
}
