// GET /health: 503 "loading" until the engine is attached, then "ok" (public: no API key).

import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.js";

export function healthRoute(app: FastifyInstance, ctx: ServerContext): void {
    app.get("/health", async (_req, reply) => {
        if (!ctx.backend) return reply.code(503).send({ status: "loading" });
        return { status: "ok" };
    });
}
