// One remote OpenAI-compatible server as HTTP: its address (given with or without /v1), the API key,
// undici's connection pool, and every way a request to it fails turned into one line that says
// what to do. Short questions (model lists) time out in seconds; an answer may take minutes before
// its first byte (a screenshot on a CPU server), so a streamed request waits up to STALL_TIMEOUT_MS
// for its headers and between two pieces of its body: a server that hangs is one line, not a hang.
// What a server sends is read only as far as a client needs it: bodies are capped.

import { Agent, type Dispatcher, errors, request } from "undici";
import { UserError } from "../core/errors.js";

/** A dead or hung server is one line within this (connection, and short GETs). */
export const QUICK_TIMEOUT_MS = 10_000;

/** The longest a streamed request waits for its headers, or for the next piece of its body. */
export const STALL_TIMEOUT_MS = 30 * 60_000;

/** An error body is read this far (its message is one line). */
const ERROR_BODY_BYTES = 64 * 1024;

/** A JSON answer to a GET (a model list, llama-server's props) is refused past this. */
const JSON_BODY_BYTES = 16 * 2 ** 20;

/** A server's refusal of a request (an HTTP error status, or an error event in a stream). */
export class RemoteError extends UserError {
    override name = "RemoteError";
    constructor(
        message: string,
        readonly status: number,
    ) {
        super(message);
    }
}

/** The message an error body carries: OpenAI's {error: {message}}, older vLLM's {message}, FastAPI's {detail}, or its text. */
export function errorMessage(text: string): string {
    let m: unknown;
    try {
        const j = JSON.parse(text);
        m = j?.error?.message ?? (typeof j?.error === "string" ? j.error : undefined) ?? j?.message ?? j?.detail;
        if (m !== undefined && typeof m !== "string") m = JSON.stringify(m);
    } catch {}
    const line = ((m as string | undefined) ?? text).replace(/\s+/g, " ").trim();
    return line.length > 300 ? `${line.slice(0, 300)}...` : line || "(no message)";
}

export interface Response {
    status: number;
    headers: Dispatcher.ResponseData["headers"];
    body: Dispatcher.ResponseData["body"];
}

/**
 * A body's text up to `max` bytes. Past that: its first `max` bytes when `truncate` (an error's
 * message), else undefined; either way the rest is not read (the connection closes).
 */
export async function readCapped(body: Response["body"], max: number, truncate = false): Promise<string | undefined> {
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of body) {
        parts.push(chunk as Buffer);
        n += (chunk as Buffer).length;
        if (n > max) {
            discard(body);
            return truncate ? Buffer.concat(parts).subarray(0, max).toString("utf8") : undefined;
        }
    }
    return Buffer.concat(parts).toString("utf8");
}

/** Stops reading a response (its connection closes: a streaming server sees its client go). */
export function discard(body: Response["body"]): void {
    body.on("error", () => {}); // destroying undici's body emits an error no one else listens to any more
    body.destroy();
}

export class Endpoint {
    /** The server's root (no /v1), without a trailing slash. */
    readonly root: string;
    private readonly agent = new Agent({
        connect: { timeout: QUICK_TIMEOUT_MS },
        headersTimeout: STALL_TIMEOUT_MS,
        bodyTimeout: STALL_TIMEOUT_MS,
    });

    constructor(
        /** The address as the user gave it (for messages). */
        readonly shown: string,
        private readonly apiKey?: string,
    ) {
        let u: URL;
        try {
            u = new URL(shown);
        } catch {
            throw new UserError(`--url must be an http:// or https:// address, got ${JSON.stringify(shown)}`);
        }
        if (u.protocol !== "http:" && u.protocol !== "https:")
            throw new UserError(`--url must be an http:// or https:// address, got ${JSON.stringify(shown)}`);
        if (u.search || u.hash) throw new UserError(`--url takes the server's address without a query, got ${JSON.stringify(shown)}`);
        // Open-AutoGLM's base_url ends in /v1; Ollama's host does not: both name the same server.
        this.root = `${u.origin}${u.pathname.replace(/\/+$/, "").replace(/\/v1$/, "")}`;
    }

    private headers(json: boolean): Record<string, string> {
        return {
            accept: json ? "application/json" : "text/event-stream",
            ...(json ? {} : { "content-type": "application/json" }),
            ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        };
    }

    private async send(path: string, o: { method: "GET" | "POST"; headers: Record<string, string>; body?: string; signal?: AbortSignal }) {
        const r = await request(this.root + path, { ...o, dispatcher: this.agent });
        return { status: r.statusCode, headers: r.headers, body: r.body } satisfies Response;
    }

    /** GET a JSON document within QUICK_TIMEOUT_MS; a 404 gives undefined when `optional`. */
    async getJson(path: string, opts: { optional?: boolean; signal?: AbortSignal } = {}): Promise<unknown> {
        const timeout = AbortSignal.timeout(QUICK_TIMEOUT_MS);
        const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
        let res: Response;
        try {
            res = await this.send(path, { method: "GET", headers: this.headers(true), signal });
            if (res.status === 404 && opts.optional) {
                discard(res.body);
                return undefined;
            }
            if (res.status !== 200) throw await this.refusal(path, res);
            const text = await readCapped(res.body, JSON_BODY_BYTES);
            if (text === undefined) throw new UserError(`${this.shown}: GET ${path} answered more than ${JSON_BODY_BYTES / 2 ** 20} MiB`);
            try {
                return JSON.parse(text);
            } catch {
                throw new UserError(`${this.shown}: GET ${path} did not answer JSON: is it an OpenAI-compatible server?`);
            }
        } catch (e) {
            if (timeout.aborted && !opts.signal?.aborted)
                throw new UserError(`${this.shown} did not answer GET ${path} within ${QUICK_TIMEOUT_MS / 1000} s`);
            throw this.failure(e, opts.signal);
        }
    }

    /** POST a JSON body; the response once its status is 200 (its body streams), or the server's refusal as one line. */
    async post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
        let res: Response;
        try {
            res = await this.send(path, { method: "POST", headers: this.headers(false), body: JSON.stringify(body), signal });
        } catch (e) {
            throw this.failure(e, signal);
        }
        if (res.status !== 200) throw await this.refusal(path, res);
        const type = String(res.headers["content-type"] ?? "");
        if (!type.startsWith("text/event-stream")) {
            // A page from a proxy, or an answer that was not streamed: what it says, and what was expected.
            const text = (await readCapped(res.body, ERROR_BODY_BYTES, true).catch(() => "")) ?? "";
            throw new UserError(
                `${this.shown}: ${path} answered ${type || "without a content type"}, not an event stream (is it an OpenAI-compatible server?): ${errorMessage(text)}`,
            );
        }
        return res;
    }

    /** A status other than 200, with the server's own message. */
    private async refusal(path: string, res: Response): Promise<RemoteError> {
        const message = errorMessage((await readCapped(res.body, ERROR_BODY_BYTES, true).catch(() => "")) ?? "");
        if (res.status === 401 || res.status === 403)
            return new RemoteError(
                `${this.shown} refused the request (${res.status}: ${message}): ${
                    this.apiKey ? "the key given with --api-key is not accepted" : "give its key with --api-key (or AUTOGLM_API_KEY)"
                }`,
                res.status,
            );
        if (res.status === 404 && path.startsWith("/v1/models"))
            return new RemoteError(
                `${this.shown} has no ${path} (404: ${message}): give the address of an OpenAI-compatible server, e.g. http://host:8000/v1`,
                404,
            );
        return new RemoteError(`${this.shown}: ${path} answered ${res.status}: ${message}`, res.status);
    }

    /** A request that got no answer: the signal's own reason when cancelled, else one line on why. */
    failure(e: unknown, signal?: AbortSignal): Error {
        if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : abortError();
        if (e instanceof UserError) return e;
        return new UserError(`cannot reach ${this.shown}: ${unreachable(e)}`);
    }

    /** Ends every connection (a cancelled stream's included): nothing waits on a server that no longer answers. */
    async close(): Promise<void> {
        await this.agent.destroy();
    }
}

/** Why a request got no answer, in words. */
function unreachable(e: unknown): string {
    const code = (e as { code?: string; cause?: { code?: string } })?.code ?? (e as { cause?: { code?: string } })?.cause?.code;
    if (code === "ECONNREFUSED") return "connection refused (is the server running there?)";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "no such host";
    if (e instanceof errors.ConnectTimeoutError || code === "UND_ERR_CONNECT_TIMEOUT")
        return `no connection within ${QUICK_TIMEOUT_MS / 1000} s`;
    if (e instanceof errors.HeadersTimeoutError || e instanceof errors.BodyTimeoutError)
        return `no answer for ${STALL_TIMEOUT_MS / 60_000} minutes (the server hangs)`;
    if (code === "ECONNRESET" || e instanceof errors.SocketError) return "the server closed the connection";
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "host unreachable";
    return (e as Error)?.message ?? String(e);
}

export function abortError(): Error {
    const err = new Error("the request was cancelled");
    err.name = "AbortError";
    return err;
}
