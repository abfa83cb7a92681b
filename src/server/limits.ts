// What one request may cost: the answer's length (a server-wide default and maximum, llama-server's
// -n) and the time the client may take to send it (a half-sent body is cut, not kept open forever).

import type { Duplex } from "node:stream";
import { ApiError, errorBody } from "./errors.js";
import { INT32_MAX } from "./schemas.js";

export interface AnswerLimits {
    /** max_tokens for a request that names none (-1: until the context is full). */
    defaultMaxTokens: number;
    /** The most any request gets: larger asks are clamped, the answer then ends with finish_reason "length" (-1: none). */
    maxTokensLimit: number;
}

/**
 * The answer tokens a request gets under the server's limits, from what it asked (max_tokens,
 * max_completion_tokens, max_output_tokens); undefined: until the slot's context is full.
 */
export function answerTokens(asked: number | null | undefined, limits: AnswerLimits): number | undefined {
    const wanted = asked ?? limits.defaultMaxTokens;
    const limit = limits.maxTokensLimit < 0 ? undefined : limits.maxTokensLimit;
    if (wanted < 0) return limit;
    return Math.min(wanted, limit ?? INT32_MAX); // the addon takes a 32-bit count
}

/**
 * fastify's (and Node's) options for the request timeout: a request whose headers and body have not
 * all arrived `seconds` after it began gets a 408 and its connection is closed (0: no limit). Node
 * checks every connectionsCheckingInterval, so that is a fraction of the timeout. The response is not
 * bounded: a stream may run as long as its answer. Malformed requests Node refuses itself get the
 * same OpenAI-shaped error body as everything else.
 */
export function requestTimeoutOptions(seconds: number) {
    const ms = Math.max(0, Math.round(seconds * 1000));
    const clientErrorHandler = (err: NodeJS.ErrnoException, socket: Duplex) => {
        if (err.code === "ECONNRESET" || socket.destroyed) return;
        const [status, reason, e] =
            err.code === "ERR_HTTP_REQUEST_TIMEOUT"
                ? [
                      408,
                      "Request Timeout",
                      new ApiError(408, `the request did not arrive whole within ${seconds} s (--request-timeout)`, "request_timeout"),
                  ]
                : err.code === "HPE_HEADER_OVERFLOW"
                  ? [431, "Request Header Fields Too Large", new ApiError(431, "the request's headers are too large", "headers_too_large")]
                  : [400, "Bad Request", new ApiError(400, "the request is not valid HTTP", "bad_request")];
        const body = JSON.stringify(errorBody(e));
        if (socket.writable)
            socket.write(
                `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
            );
        socket.destroy();
    };
    if (ms === 0) return { requestTimeout: 0, clientErrorHandler };
    return {
        requestTimeout: ms,
        http: { headersTimeout: Math.min(ms, 60_000), connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(ms / 4))) },
        clientErrorHandler,
    };
}
