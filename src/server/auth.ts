// The bearer key check and who a request is. A server may have several keys (one per user, as
// llama-server's --api-key K1,K2): each is then a client of its own for fairness and cache isolation.
// Without keys, or with one shared by everybody, a client is its remote address.

import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import ipaddr from "ipaddr.js";
import { ApiError } from "./errors.js";

/** The key an Authorization header carries ("" without one); the scheme is case-insensitive. */
export function bearer(req: FastifyRequest): string {
    const header = req.headers.authorization ?? "";
    return /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, "").trim() : "";
}

const digest = (k: string) => createHash("sha256").update(k).digest();

/** Which of `keys` `given` is (-1: none). Every key is compared, by digest, so neither a key's content nor its length nor its place shows in the time taken. */
export function keyIndex(given: string, keys: readonly string[]): number {
    const d = digest(given);
    let found = -1;
    keys.forEach((k, i) => {
        if (timingSafeEqual(d, digest(k)) && found < 0) found = i;
    });
    return found;
}

/** The onRequest hook: every request but /health and the web page's files carries one of `keys`. */
export function apiKeyCheck(keys: readonly string[]) {
    return async (req: FastifyRequest): Promise<void> => {
        if (keys.length === 0 || req.url === "/health" || (req.routeOptions.config as { public?: boolean } | undefined)?.public === true)
            return; // public: the web page's files
        if (keyIndex(bearer(req), keys) < 0)
            throw new ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", "invalid_api_key");
    };
}

/**
 * Who a request is, for per-client fairness and cache isolation: its key when the server has several
 * (a key is an identity the operator handed out), else its remote address, an IPv6 one by its /64
 * (one host commonly holds a whole /64 and would otherwise be as many clients as it likes).
 * Behind a reverse proxy every request has the proxy's address: give each user a key.
 */
export function clientOf(req: FastifyRequest, keys: readonly string[]): string {
    if (keys.length > 1) return `key ${keyIndex(bearer(req), keys)}`;
    const raw = req.socket?.remoteAddress;
    if (!raw || !ipaddr.isValid(raw)) return "address unknown";
    const a = ipaddr.process(raw);
    if (a.kind() === "ipv4") return `address ${a.toString()}`;
    return `address ${(a as ipaddr.IPv6).parts
        .slice(0, 4)
        .map((p) => p.toString(16))
        .join(":")}::/64`;
}
