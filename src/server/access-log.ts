// serve's access log: one line per request on stderr, as text or JSON (--log-format).

import type { FastifyReply, FastifyRequest } from "fastify";

export interface AccessEntry {
    method: string;
    /** The route's pattern (/v1/models/:id), or the path for requests no route took. */
    route: string;
    status: number;
    /** For completions: prompt tokens (cached ones included) and generated tokens. */
    promptTokens?: number;
    completionTokens?: number;
    ms: number;
}

export type LogFormat = "text" | "json";

export function formatAccess(e: AccessEntry, format: LogFormat): string {
    if (format === "json") {
        return JSON.stringify({
            time: new Date().toISOString(),
            method: e.method,
            route: e.route,
            status: e.status,
            prompt_tokens: e.promptTokens,
            completion_tokens: e.completionTokens,
            ms: Math.round(e.ms * 10) / 10,
        });
    }
    const tokens = e.promptTokens !== undefined ? ` prompt=${e.promptTokens} completion=${e.completionTokens ?? 0}` : "";
    return `${new Date().toISOString()} ${e.method} ${e.route} ${e.status}${tokens} ${e.ms.toFixed(1)}ms`;
}

/** An onResponse hook (it runs for streams too: fastify waits for the response to finish); `tokens`: what a completion used. */
export function accessLogHook(
    onAccess: (entry: AccessEntry) => void,
    tokens: (req: FastifyRequest) => { prompt: number; completion: number } | undefined,
) {
    return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
        const t = tokens(req);
        onAccess({
            method: req.method,
            route: req.routeOptions.url ?? req.url.split("?")[0]!,
            status: reply.raw.statusCode,
            promptTokens: t?.prompt,
            completionTokens: t?.completion,
            ms: reply.elapsedTime,
        });
    };
}
