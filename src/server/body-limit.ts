// A declared body over the limit is read and dropped before the 413: closing a connection with
// unread data resets it, and a client still sending would never see the answer.

import type { FastifyRequest } from "fastify";
import { bodyTooLarge } from "./errors.js";

/** An onRequest hook answering 413 to a Content-Length over `limit`, after draining the body. */
export function oversizedBodyHook(limit: number) {
    return async (req: FastifyRequest): Promise<void> => {
        if (Number(req.headers["content-length"] ?? 0) <= limit) return;
        await new Promise<void>((resolve) => {
            for (const ev of ["end", "error", "close"]) req.raw.once(ev, () => resolve());
            req.raw.resume();
        });
        throw bodyTooLarge(limit);
    };
}
