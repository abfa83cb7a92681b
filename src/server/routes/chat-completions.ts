// POST /v1/chat/completions: the body as a turn, the turn's events as the stream's chunks, its
// result as the response. Streams send each choice's role chunk first (LangChain JS needs it), then
// pings while a clip is transcribed or the prompt evaluated, transcripts as extension chunks, then the
// answers (text, reasoning, tool calls, log-probabilities; openai-response.ts shapes them).

import type { FastifyInstance } from "fastify";
import type { TurnEvent } from "../../engine/turn.js";
import type { ServerContext } from "../context.js";
import { chatTurn } from "../openai-request.js";
import { ChatCompletion } from "../openai-response.js";
import { chatCompletionBody, type ChatCompletionBody } from "../schemas.js";
import { EventStream } from "../sse.js";

export function chatCompletionsRoute(app: FastifyInstance, ctx: ServerContext): void {
    app.post("/v1/chat/completions", { schema: { body: chatCompletionBody } }, async (req, reply) => {
        ctx.ready();
        ctx.metrics.requests++;
        const body = req.body as ChatCompletionBody;
        const { request, returnReasoning } = chatTurn(body, ctx.opts.media, ctx.opts.reasoningFormat);
        const out = new ChatCompletion(ctx.opts.servedName, request.logprobs !== undefined);
        const stream = body.stream ? new EventStream(reply) : undefined;
        // Headers and the role chunk go out once the turn is past its checks and starts slow work
        // (a transcription, a wait for a slot, the prompt): a refused request is an HTTP error.
        const open = () => {
            if (!stream || stream.started) return;
            stream.open(ctx.opts.ssePingSeconds);
            for (const c of out.roleChunks(request.n ?? 1)) stream.send(c);
        };
        const transcripts: string[] = [];
        const onEvent = (e: TurnEvent) => {
            if (e.type === "transcribing" || e.type === "queued" || e.type === "prompt") open();
            else if (e.type === "media" && e.report.kind === "audio" && e.report.transcript !== undefined) {
                transcripts.push(e.report.transcript);
                if (stream?.started) stream.send(out.transcriptChunk(e.report.transcript));
            } else if (stream) {
                const chunks = out.eventChunks(e, returnReasoning);
                if (chunks.length) open();
                for (const c of chunks) stream.send(c);
            }
        };
        const r = await ctx.runStreamed(req, reply, request, onEvent, stream);
        if (!stream) return out.body(r!, returnReasoning, transcripts);
        if (!r) return reply;
        open();
        for (const c of out.finalChunks(r)) stream.send(c);
        if (body.stream_options?.include_usage) stream.send(out.usageChunk(r));
        stream.end();
        return reply;
    });
}
