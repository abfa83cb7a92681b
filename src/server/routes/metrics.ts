// GET /metrics: the counters and the engine's load in Prometheus' text format.

import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.js";

export function metricsRoute(app: FastifyInstance, ctx: ServerContext): void {
    app.get("/metrics", async (_req, reply) => {
        const idle = { busySlots: 0, slots: 0, queued: 0, speechModelsOpened: 0, mediaDecoding: 0 };
        return reply.type("text/plain; version=0.0.4").send(ctx.metrics.render(ctx.backend?.gauges() ?? idle));
    });
}
