// A scripted OpenAI-compatible server for tests of what a client sends and how it reads odd streams:
// it records every request (method, path, headers, JSON body) and answers /v1/models, /props and
// completions as the test scripts them, writing a stream's bytes exactly as given, chunk by chunk.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
    method: string;
    path: string;
    headers: IncomingMessage["headers"];
    body?: unknown;
}

export interface StandInScript {
    /** GET /v1/models: a body (200), or a status with a body. */
    models?: unknown | { status: number; body: unknown };
    props?: unknown | { status: number; body: unknown };
    /**
     * POST .../completions: the raw chunks of an SSE stream (written one by one), or a status with a
     * body, or a stream with its own content type that may stay open after its chunks (a hostile or
     * broken server; with no chunks it never sends its headers).
     */
    completion?: (body: unknown) => string[] | { status: number; body: unknown } | OpenStream;
}

export interface OpenStream {
    chunks: string[];
    keepOpen?: boolean;
    contentType?: string;
}

export interface StandIn {
    url: string;
    requests: Recorded[];
    script: StandInScript;
    close(): Promise<void>;
}

const isStatus = (x: unknown): x is { status: number; body: unknown } =>
    Boolean(x) && typeof x === "object" && typeof (x as { status?: unknown }).status === "number" && "body" in (x as object);

export async function startStandIn(script: StandInScript): Promise<StandIn> {
    const requests: Recorded[] = [];
    const state: StandIn = { url: "", requests, script, close: async () => {} };
    const json = (res: ServerResponse, answer: unknown) => {
        const { status, body } = isStatus(answer) ? answer : { status: 200, body: answer };
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    const server: Server = createServer(async (req, res) => {
        let raw = "";
        for await (const d of req) raw += d;
        const rec: Recorded = { method: req.method!, path: req.url!, headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
        requests.push(rec);
        const s = state.script;
        if (req.method === "GET" && req.url === "/v1/models" && s.models !== undefined) return json(res, s.models);
        if (req.method === "GET" && req.url === "/props" && s.props !== undefined) return json(res, s.props);
        if (req.method === "POST" && req.url?.endsWith("completions") && s.completion) {
            const answer = s.completion(rec.body);
            if (!Array.isArray(answer) && isStatus(answer)) return json(res, answer);
            const stream: OpenStream = Array.isArray(answer) ? { chunks: answer } : answer;
            res.writeHead(200, { "content-type": stream.contentType ?? "text/event-stream" });
            for (const chunk of stream.chunks) {
                // Each piece goes out on its own (the client must not depend on how bytes are grouped).
                if (res.destroyed) return;
                await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
            }
            if (!stream.keepOpen) res.end(); // kept open: until the client goes (close() ends it too)
            return;
        }
        json(res, { status: 404, body: { error: { message: `no route ${req.method} ${req.url}`, code: 404 } } });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    state.close = () =>
        new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        });
    return state;
}

/** An SSE `data:` event for a chat chunk with this delta (and finish reason). */
export const sse = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
