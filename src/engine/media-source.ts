// A turn's media items as the engine reads them: which parts of which messages, the role check,
// the names messages give them, and their bytes from where their MediaSource says (read only once
// the turn holds its place in the queue).

import { readFile, stat } from "node:fs/promises";
import { UserError } from "../core/errors.js";
import { InvalidRequestError } from "./errors.js";
import type { MediaSource, TurnMessage, TurnPart } from "./turn.js";

export interface TurnMedia {
    /** The part itself (its identity keys a session's decoded media). */
    part: Extract<TurnPart, { type: "image" | "audio" }>;
    kind: "image" | "audio";
    /** Its place among the request's media, from 0. */
    index: number;
    /** How messages name it: the file's path, or "the image 2" (a server's client sees no paths of its own). */
    name: string;
}

/** The media parts of `messages` in order; images and audio only in user messages (the template places them there). */
export function turnMedia(messages: readonly TurnMessage[]): TurnMedia[] {
    const out: TurnMedia[] = [];
    for (const m of messages) {
        if (typeof m.content === "string") continue;
        for (const part of m.content) {
            if (part.type === "text") continue;
            if (m.role !== "user")
                throw new InvalidRequestError("images and audio are accepted in user messages only", "invalid_media_role");
            const index = out.length;
            const name = "path" in part.source ? part.source.path : `the ${part.type} ${index + 1}`;
            out.push({ part, kind: part.type, index, name });
        }
    }
    return out;
}

/** The bytes of one media item; a local file's faults are one line naming it. */
export async function readMedia(source: MediaSource, kind: "image" | "audio", signal?: AbortSignal): Promise<Buffer> {
    if ("bytes" in source) return source.bytes;
    if ("load" in source) return source.load(signal ?? new AbortController().signal);
    const s = await stat(source.path).catch(() => undefined);
    if (!s) throw new UserError(`${kind} not found: ${source.path}`);
    if (!s.isFile()) throw new UserError(`${source.path} is not a file`);
    try {
        return await readFile(source.path, { signal });
    } catch (e) {
        if (signal?.aborted) throw e;
        throw new UserError(`cannot read ${source.path}: ${(e as Error).message}`);
    }
}
