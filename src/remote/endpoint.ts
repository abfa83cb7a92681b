// One remote OpenAI-compatible server as HTTP: its address (given with or without /v1), the API key,
// undici's connection pool, and every way a request to it fails turned into one line that says
// what to do. Short questions (model lists) time out in seconds; an answer may take minutes before
// its first byte (a screenshot on a CPU server), so streamed requests wait until cancelled.

import { Agent, type Dispatcher, errors, request } from "undici";
import { UserError } from "../core/errors.js";

/** A dead or hung server is one line within this (connection, and short GETs). */
export const QUICK_TIMEOUT_MS = 10_000;

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
    body: Dispatcher.ResponseData["body"];
}

/** Stops reading a response (its connection closes: a streaming server sees its client go). */
export function discard(body: Response["body"]): void {
    body.on("error", () => {}); // destroying undici's body emits an error no one else listens to any more
    body.destroy();
}

export class Endpoint {
    /** The server's root (no /v1), without a trailing slash. */
    readonly root: string;
    private readonly agent = new Agent({ connect: { timeout: QUICK_TIMEOUT_MS }, headersTimeout: 0, bodyTimeout: 0 });

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
        return { status: r.statusCode, body: r.body } satisfies Response;
    }

    /** GET a JSON document within QUICK_TIMEOUT_MS; a 404 gives undefined when `optional`. */
    async getJson(path: string, opts: { optional?: boolean; signal?: AbortSignal } = {}): Promise<unknown> {
        const timeout = AbortSignal.timeout(QUICK_TIMEOUT_MS);
        const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
        let res: Response;
        try {
            res = await this.send(path, { method: "GET", headers: this.headers(true), signal });
            if (res.status === 404 && opts.optional) {
                await res.body.text().catch(() => "");
                return undefined;
            }
            if (res.status !== 200) throw await this.refusal(path, res);
            const text = await res.body.text();
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
        return res;
    }

    /** A status other than 200, with the server's own message. */
    private async refusal(path: string, res: Response): Promise<RemoteError> {
        const message = errorMessage(await res.body.text().catch(() => ""));
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
        const code = (e as { code?: string; cause?: { code?: string } })?.code ?? (e as { cause?: { code?: string } })?.cause?.code;
        const why =
            code === "ECONNREFUSED"
                ? "connection refused (is the server running there?)"
                : code === "ENOTFOUND" || code === "EAI_AGAIN"
                  ? "no such host"
                  : e instanceof errors.ConnectTimeoutError || code === "UND_ERR_CONNECT_TIMEOUT"
                    ? `no connection within ${QUICK_TIMEOUT_MS / 1000} s`
                    : code === "ECONNRESET" || e instanceof errors.SocketError
                      ? "the server closed the connection"
                      : code === "EHOSTUNREACH" || code === "ENETUNREACH"
                        ? "host unreachable"
                        : ((e as Error)?.message ?? String(e));
        return new UserError(`cannot reach ${this.shown}: ${why}`);
    }

    /** Ends every connection (a cancelled stream's included): nothing waits on a server that no longer answers. */
    async close(): Promise<void> {
        await this.agent.destroy();
    }
}

export function abortError(): Error {
    const err = new Error("the request was cancelled");
    err.name = "AbortError";
    return err;
}
