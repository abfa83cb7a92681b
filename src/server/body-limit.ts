// A body over the limit is read and dropped before the 413: closing a connection with unread data
// resets it, and a client still sending would never see the answer. A declared one is refused
// before it is read; one without a length is cut at the limit by the body parser, and the rest is
// drained in the error handler (app.ts). Either way --request-timeout bounds the wait.

import type { IncomingMessage } from "node:http";
import type { FastifyRequest } from "fastify";
import { bodyTooLarge } from "./errors.js";

/** Reads what is left of a request's body, and drops it. */
export function drainBody(raw: IncomingMessage): Promise<void> {
    if (raw.complete || raw.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
        for (const ev of ["end", "error", "close"]) raw.once(ev, () => resolve());
        raw.resume();
    });
}

/** An onRequest hook answering 413 to a Content-Length over `limit`, after draining the body. */
export function oversizedBodyHook(limit: number) {
    return async (req: FastifyRequest): Promise<void> => {
        if (Number(req.headers["content-length"] ?? 0) <= limit) return;
        await drainBody(req.raw);
        throw bodyTooLarge(limit);
    };
}
