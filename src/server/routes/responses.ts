// POST /v1/responses (OpenAI's Responses API): the body as a turn after the stored conversation of
// previous_response_id, the turn's events as the documented stream events, its result as a response
// object, kept for later turns unless store is false; GET and DELETE /v1/responses/{id} read and drop
// a kept one. Request mapping: responses/request.ts; shapes and events: responses/response.ts.

import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.js";
import { ApiError } from "../errors.js";
import { outputMessages, responsesBody, responsesTurn, type ResponsesBody } from "../responses/request.js";
import { ResponseObject } from "../responses/response.js";
import { ResponseStore } from "../responses/store.js";
import { EventStream } from "../sse.js";

const notHeld = (id: string) => new ApiError(404, `no response ${id} is held by this server`, "not_found");

export function responsesRoutes(app: FastifyInstance, ctx: ServerContext): void {
    const store = new ResponseStore();

    app.post("/v1/responses", { schema: { body: responsesBody } }, async (req, reply) => {
        ctx.ready();
        ctx.metrics.requests++;
        const body = req.body as ResponsesBody;
        const turn = responsesTurn(body, ctx.opts.media, store);
        const out = new ResponseObject(body, ctx.opts.servedName, turn.request.logprobs !== undefined);
        const stream = body.stream ? new EventStream(reply, true) : undefined;
        // The stream opens once the turn is past its checks (a refused request is an HTTP error).
        const open = () => {
            if (!stream || stream.started) return;
            stream.open(ctx.opts.ssePingSeconds);
            for (const e of out.created()) stream.send(e);
        };
        const r = await ctx.runStreamed(
            req,
            reply,
            turn.request,
            (e) => {
                if (e.type === "queued" || e.type === "prompt" || e.type === "transcribing") return open();
                const events = stream ? out.events(e) : [];
                if (events.length) open();
                for (const ev of events) stream!.send(ev);
            },
            stream,
            (error) => out.failed({ code: error.code, message: error.message }),
        );
        if (!r) return reply; // failed after the stream began: response.failed was sent
        let response: object;
        if (stream) {
            open();
            const events = out.finish(r);
            for (const e of events) stream.send(e);
            stream.end();
            response = (events[events.length - 1] as { response: object }).response;
        } else response = out.fromResult(r);
        if (body.store !== false) {
            const previous = body.previous_response_id ? { previous: body.previous_response_id } : {};
            const messages = [...turn.input, ...outputMessages(r)];
            store.put(out.id, { ...previous, messages, calls: r.toolCalls ?? [], response, bytes: turn.bytes + r.raw.length });
        }
        return stream ? reply : response;
    });

    app.get("/v1/responses/:id", async (req) => {
        const { id } = req.params as { id: string };
        const kept = store.get(id);
        if (!kept) throw notHeld(id);
        return kept.response;
    });

    app.delete("/v1/responses/:id", async (req) => {
        const { id } = req.params as { id: string };
        if (!store.delete(id)) throw notHeld(id);
        return { id, object: "response", deleted: true };
    });
}
