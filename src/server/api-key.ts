// The API key check (--api-key): every route but /health and the web page's public files needs
// `Authorization: Bearer KEY`.

import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { ApiError } from "./errors.js";

/** Compares digests, so neither the key's content nor its length shows in the time taken. */
function sameKey(given: string, expected: string): boolean {
    const digest = (k: string) => createHash("sha256").update(k).digest();
    return timingSafeEqual(digest(given), digest(expected));
}

/** An onRequest hook refusing requests without the key. */
export function apiKeyHook(key: string) {
    return async (req: FastifyRequest): Promise<void> => {
        if (req.url === "/health" || (req.routeOptions.config as { public?: boolean } | undefined)?.public === true) return; // public: the web page's files
        const header = req.headers.authorization ?? "";
        const given = /^bearer\s+/i.exec(header) ? header.replace(/^bearer\s+/i, "").trim() : ""; // the scheme is case-insensitive
        if (!sameKey(given, key)) throw new ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", "invalid_api_key");
    };
}
