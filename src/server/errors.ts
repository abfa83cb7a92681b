// OpenAI-style errors: {"error": {"message", "type", "code"}} with the HTTP status that fits, and the
// one mapping from every failure (the engine's typed refusals, fastify's own, autoglm's faults) to it.

import type { FastifyError } from "fastify";
import { ResourceLoadError, UserError } from "../core/errors.js";
import { CancelledError, GrammarError, QueueFullError, ShuttingDownError, TurnRefusal } from "../engine/errors.js";

export class ApiError extends Error {
    constructor(
        readonly status: number,
        message: string,
        readonly code: string | null = null,
        readonly type = errorType(status),
    ) {
        super(message);
    }
}

function errorType(status: number): string {
    if (status === 401) return "authentication_error";
    if (status === 404) return "not_found_error";
    if (status === 429 || status === 503) return "server_busy";
    return status >= 500 ? "server_error" : "invalid_request_error";
}

export function errorBody(e: ApiError): { error: { message: string; type: string; code: string | null } } {
    return { error: { message: e.message, type: e.type, code: e.code } };
}

export const bodyTooLarge = (limit: number) => new ApiError(413, `the request body is larger than ${limit} bytes`, "body_too_large");

/** Every failure as the one API error it answers with (logged when it is autoglm's fault). */
export function toApiError(err: unknown, bodyLimit: number): ApiError {
    if (err instanceof ApiError) return err;
    if (err instanceof QueueFullError || err instanceof ShuttingDownError) return new ApiError(503, err.message, err.code);
    if (err instanceof CancelledError) return new ApiError(499, err.message, err.code);
    if (err instanceof ResourceLoadError) {
        process.stderr.write(`autoglm serve: the ${err.resource} failed to load: ${err.message}\n`);
        return new ApiError(
            503,
            `the ${err.resource} of this server failed to load; the operator can see why in the server log`,
            "resource_unavailable",
        );
    }
    if (err instanceof GrammarError && err.source === "response_format")
        return new ApiError(400, `response_format: ${err.message}`, err.code);
    if (err instanceof TurnRefusal) return new ApiError(400, err.message, err.code);
    if (err instanceof UserError) return new ApiError(400, err.message, "invalid_request");
    const f = err as FastifyError;
    if (f?.validation) return new ApiError(400, `invalid request: ${f.message}`, "invalid_request");
    if (f?.code === "FST_ERR_CTP_BODY_TOO_LARGE") return bodyTooLarge(bodyLimit);
    if (f?.statusCode && f.statusCode < 500) return new ApiError(f.statusCode, f.message, f.code ?? null);
    process.stderr.write(`autoglm serve: internal error: ${(err as Error)?.stack ?? err}\n`);
    return new ApiError(500, "internal error: see the server log", "internal_error"); // the log has the detail (and the server's paths)
}
