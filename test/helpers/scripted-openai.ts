// A scripted OpenAI-compatible server for `autoglm agent --url` tests: a real HTTP server that
// answers POST /v1/chat/completions with the next scripted raw model output, streamed as chat
// completion chunks (delta.content in small pieces, as vLLM streams a model without a reasoning
// parser) or whole when the request does not stream, and records every request body and its
// headers. GET /v1/models names the model. A reply can be an HTTP error instead.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export type ScriptedReply = string | { raw: string; finish?: "stop" | "length" } | { status: number; message: string };

export interface ScriptedOpenAI {
    /** The base URL to give a client: http://127.0.0.1:PORT/v1 */
    url: string;
    /** The JSON bodies of the chat completion requests, in order. */
    bodies: any[];
    headers: IncomingHttpHeaders[];
    remaining(): number;
    close(): Promise<void>;
}

export async function startScriptedOpenAI(
    script: ScriptedReply[],
    o: { model?: string; apiKey?: string; piece?: number } = {},
): Promise<ScriptedOpenAI> {
    const model = o.model ?? "autoglm-phone-9b";
    const piece = o.piece ?? 3;
    const bodies: any[] = [];
    const headers: IncomingHttpHeaders[] = [];
    let next = 0;
    let ids = 0;
    const server = createServer((req, res) => {
        const json = (status: number, value: unknown) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(value));
        };
        const error = (status: number, message: string) =>
            json(status, { error: { message, type: "invalid_request_error", code: status } });
        if (o.apiKey && req.headers.authorization !== `Bearer ${o.apiKey}`) return error(401, "invalid api key");
        if (req.method === "GET" && req.url === "/v1/models")
            return json(200, { object: "list", data: [{ id: model, object: "model", created: 0, owned_by: "scripted" }] });
        if (req.method !== "POST" || req.url !== "/v1/chat/completions") return error(404, `no route ${req.method} ${req.url}`);
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            let body: any;
            try {
                body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
                return error(400, "the body is not JSON");
            }
            bodies.push(body);
            headers.push(req.headers);
            const reply = script[next++];
            if (reply === undefined) return error(500, `the scripted server has no reply left for request ${bodies.length}`);
            if (typeof reply === "object" && "status" in reply) return error(reply.status, reply.message);
            const { raw, finish } =
                typeof reply === "string" ? { raw: reply, finish: "stop" as const } : { raw: reply.raw, finish: reply.finish ?? "stop" };
            const id = `chatcmpl-scripted-${++ids}`;
            const created = Math.floor(Date.now() / 1000);
            // Counted in code points: a stand-in's usage, not a tokenizer's.
            const usage = {
                prompt_tokens: JSON.stringify(body.messages ?? []).length,
                completion_tokens: [...raw].length,
                total_tokens: 0,
            };
            usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
            if (!body.stream) {
                return json(200, {
                    id,
                    object: "chat.completion",
                    created,
                    model,
                    choices: [{ index: 0, message: { role: "assistant", content: raw }, finish_reason: finish }],
                    usage,
                });
            }
            res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
            const send = (choices: unknown[], extra: object = {}) =>
                res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`);
            send([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
            const chars = [...raw];
            for (let i = 0; i < chars.length; i += piece)
                send([{ index: 0, delta: { content: chars.slice(i, i + piece).join("") }, finish_reason: null }]);
            send([{ index: 0, delta: {}, finish_reason: finish }]);
            if (body.stream_options?.include_usage) send([], { usage });
            res.end("data: [DONE]\n\n");
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}/v1`,
        bodies,
        headers,
        remaining: () => script.length - next,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
