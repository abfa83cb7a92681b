// POST /v1/completions: raw text continued through the same turn (no template, no thinking split).

import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.js";
import { completionTurn } from "../openai-request.js";
import { TextCompletion } from "../openai-response.js";
import { completionBody, type CompletionBody } from "../schemas.js";
import { EventStream } from "../sse.js";

export function completionsRoute(app: FastifyInstance, ctx: ServerContext): void {
    app.post("/v1/completions", { schema: { body: completionBody } }, async (req, reply) => {
        ctx.ready();
        ctx.metrics.requests++;
        const body = req.body as CompletionBody;
        const request = completionTurn(body);
        const out = new TextCompletion(ctx.opts.servedName, request.logprobs !== undefined);
        // The stream opens with its first text: a failure before it is an HTTP error.
        const stream = body.stream ? new EventStream(reply) : undefined;
        const r = await ctx.runStreamed(
            req,
            reply,
            request,
            (e) => {
                for (const c of stream ? out.eventChunks(e) : []) stream!.send(c);
            },
            stream,
        );
        if (!stream) return out.body(r!);
        if (!r) return reply;
        for (const c of out.finalChunks(r)) stream.send(c);
        if (body.stream_options?.include_usage) stream.send(out.usageChunk(r));
        stream.end();
        return reply;
    });
}
