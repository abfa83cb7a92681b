// OpenAI-style errors: {"error": {"message", "type", "code"}} with the HTTP status that fits.

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
