// A turn's media: which parts of which messages (images and audio in user messages only), their bytes
// from where their MediaSource says (read only once the turn holds its place in the queue), every
// header checked together, then each decoded in order by the media policy (a `media` event each) —
// or taken from the session's earlier turns — and the messages with their prompt parts.

import { readFile, stat } from "node:fs/promises";
import { ResourceLoadError, UserError } from "../core/errors.js";
import type { ChatMessage, ContentPart, MediaPart } from "./chat-template.js";
import { CancelledError, InvalidMediaError, InvalidRequestError, throwIfCancelled, TurnRefusal } from "./errors.js";
import type { MediaPolicy, PendingMedia } from "./media-policy.js";
import type { DecodedMedia } from "./session.js";
import type { MediaReport, MediaSource, TurnEvent, TurnMessage, TurnPart } from "./turn.js";

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

/** Adjacent text parts merge, so a message renders as the template expects. */
function merged(parts: ContentPart[]): ChatMessage["content"] {
    const out: ContentPart[] = [];
    for (const p of parts) {
        const last = out[out.length - 1];
        if (p.type === "text" && last?.type === "text") out[out.length - 1] = { type: "text", text: last.text + p.text };
        else out.push(p);
    }
    return out.every((p) => p.type === "text") ? out.map((p) => (p as { text: string }).text).join("") : out;
}

export const mediaParts = (messages: readonly ChatMessage[]) =>
    messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.filter((p): p is MediaPart => p.type !== "text")));

/**
 * One stage of a turn: a cancel before or during it is a CancelledError (whatever the stage threw
 * on its way out); `media` names the kind a plain refusal of the stage's input is about.
 */
export async function stage<T>(signal: AbortSignal | undefined, job: () => Promise<T>, media?: "image" | "audio"): Promise<T> {
    throwIfCancelled(signal);
    try {
        const r = await job();
        throwIfCancelled(signal);
        return r;
    } catch (e) {
        if (signal?.aborted && !(e instanceof CancelledError)) throw new CancelledError();
        // A plain refusal of what was read (a missing file, a server's source policy) is about that item.
        if (media && e instanceof UserError && !(e instanceof TurnRefusal) && !(e instanceof ResourceLoadError))
            throw new InvalidMediaError(media, e.message);
        throw e;
    }
}

/** One turn's media, from the messages to their prompt parts. */
export class TurnMediaStage {
    private readonly items: TurnMedia[];
    /** The items not decoded by an earlier turn of the session: only these are read, checked and decoded. */
    private readonly fresh: TurnMedia[];
    private readonly decoded = new Map<TurnPart, DecodedMedia>();

    constructor(
        private readonly turn: readonly TurnMessage[],
        private readonly policy: MediaPolicy,
        private readonly session?: WeakMap<MediaSource, DecodedMedia>,
    ) {
        this.items = turnMedia(turn);
        this.fresh = this.items.filter((m) => !session?.has(m.part.source));
    }

    /** Refuses kinds the model cannot use and too many items, before anything is read. */
    admit(): void {
        this.policy.admit({
            images: this.fresh.filter((m) => m.kind === "image").length,
            audios: this.fresh.filter((m) => m.kind === "audio").length,
        });
    }

    /** Reads the fresh items, checks all their headers together, then decodes every item in order. */
    async decode(emit: (e: TurnEvent) => void, signal?: AbortSignal): Promise<void> {
        const pending = new Map<TurnMedia, PendingMedia>();
        for (const m of this.fresh)
            pending.set(m, {
                kind: m.kind,
                name: m.name,
                bytes: await stage(signal, () => readMedia(m.part.source, m.kind, signal), m.kind),
            });
        await stage(signal, () => this.policy.check([...pending.values()]));
        for (const m of this.items) {
            let d = this.session?.get(m.part.source);
            if (!d) {
                const { bytes, name } = pending.get(m)!;
                if (m.kind === "audio" && this.policy.transcribes) emit({ type: "transcribing", index: m.index });
                d = await stage<DecodedMedia>(signal, () =>
                    m.kind === "image" ? this.policy.image(bytes, name) : this.policy.audio(bytes, name, signal),
                );
                d = { part: d.part, report: d.report };
                this.session?.set(m.part.source, d);
                emit({ type: "media", index: m.index, report: d.report });
            }
            this.decoded.set(m.part, d);
        }
    }

    /** The messages with each media item as its prompt part (decode first). */
    messages(): ChatMessage[] {
        return this.turn.map((m) => ({
            role: m.role,
            content:
                typeof m.content === "string"
                    ? m.content
                    : merged(m.content.map((p) => (p.type === "text" ? p : this.decoded.get(p)!.part))),
            // Calls and results keep what the tool dialect renders them with (src/engine/tools/).
            ...(m.toolCalls ? { toolCalls: m.toolCalls } : {}),
            ...(m.toolCallId ? { toolCallId: m.toolCallId } : {}),
            ...(m.name ? { name: m.name } : {}),
        }));
    }

    /** What happened to each item, in the request's order. */
    reports(): MediaReport[] {
        return this.items.map((m) => this.decoded.get(m.part)!.report);
    }
}
