// The OpenAI-compatible HTTP surface (docs/server-contract.md) on fastify: the hooks, in the order
// they run, and the routes, each a thin adapter from HTTP to engine.turn and back (src/server/routes/).
// The engine is attached once loaded; until then /health says 503 and completions are refused with 503.

import Fastify, { type FastifyInstance } from "fastify";
import { accessLogHook } from "./access-log.js";
import { apiKeyCheck } from "./auth.js";
import { drainBody, oversizedBodyHook } from "./body-limit.js";
import { ServerContext, type Backend, type ServerOptions } from "./context.js";
import { ApiError, errorBody, toApiError } from "./errors.js";
import { hostCheck } from "./host-check.js";
import { requestTimeoutOptions } from "./limits.js";
import { chatCompletionsRoute } from "./routes/chat-completions.js";
import { completionsRoute } from "./routes/completions.js";
import { healthRoute } from "./routes/health.js";
import { metricsRoute } from "./routes/metrics.js";
import { modelsRoutes } from "./routes/models.js";
import { responsesRoutes } from "./routes/responses.js";
import { schemaError } from "./schemas.js";
import { webuiPlugin } from "./webui/plugin.js";

export type { Backend, ServerOptions } from "./context.js";
export type { ReasoningFormat } from "./openai-request.js";

export interface Server {
    app: FastifyInstance;
    /** Serves `backend`'s engine from now on. */
    attach(backend: Backend): void;
    /** Stops accepting turns and cancels the running ones (shutdown). */
    cancelAll(): void;
}

export function buildApp(opts: ServerOptions): Server {
    const ctx = new ServerContext(opts);
    const app = Fastify({
        bodyLimit: opts.bodyLimit,
        logger: false,
        // Wrong types are errors, not silently converted; unknown keys stay (and are ignored).
        ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
        schemaErrorFormatter: schemaError,
        // A request (headers and body) must arrive whole within --request-timeout: 408, and the connection closed.
        ...requestTimeoutOptions(opts.requestTimeoutSeconds),
    });

    app.setErrorHandler(async (err, req, reply) => {
        ctx.metrics.errors++;
        const e = toApiError(err, opts.bodyLimit);
        // A body cut off at the limit is still arriving: its 413 goes after it (body-limit.ts).
        if (e.code === "body_too_large") await drainBody(req.raw);
        if (reply.sent || reply.raw.headersSent) return;
        return reply.code(e.status).send(errorBody(e));
    });
    app.setNotFoundHandler(
        (req, reply) => void reply.code(404).send(errorBody(new ApiError(404, `no route ${req.method} ${req.url}`, "not_found"))),
    );

    // Hooks, in the order they run for a request. The Host check comes before anything else, the web
    // page and /health included: a forged Host is a 403 (DNS rebinding).
    app.addHook("onRequest", hostCheck(opts.hosts));
    if (opts.onAccess)
        app.addHook(
            "onResponse",
            accessLogHook(opts.onAccess, (req) => ctx.tokensOf(req)),
        );
    if (opts.apiKeys.length > 0) app.addHook("onRequest", apiKeyCheck(opts.apiKeys));
    app.addHook("onRequest", oversizedBodyHook(opts.bodyLimit));

    if (opts.webui) void app.register(webuiPlugin);
    healthRoute(app, ctx);
    modelsRoutes(app, ctx);
    metricsRoute(app, ctx);
    chatCompletionsRoute(app, ctx);
    completionsRoute(app, ctx);
    responsesRoutes(app, ctx);

    return {
        app,
        attach: (b) => {
            ctx.backend = b;
        },
        cancelAll: () => ctx.cancelAll(),
    };
}
