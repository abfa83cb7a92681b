// A conversation's hold on a local runtime: one slot pinned to it until close, its turns run one
// at a time, the media it already decoded kept (a chat's history, a phone's screenshots are not
// decoded or transcribed again each turn), and its KV cache saved to and loaded from a file (the
// chat's /save and /load) beside the conversation, with the file's size and checksum.

import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from "node:fs";
import { UserError } from "../core/errors.js";
import type { ContentPart } from "./chat-template.js";
import type { MediaReport, MediaSource, TurnMessage, TurnSession } from "./turn.js";
import type { Slot } from "./slots.js";

/**
 * FILE.json beside llama.cpp's session file FILE: the conversation, the slot's record, and FILE's
 * size and SHA-256, checked before llama.cpp reads FILE (it asserts on a truncated file and
 * allocates whatever a corrupt one claims).
 */
interface SavedChat {
    version: 3;
    messages: TurnMessage[];
    record: { text: string | undefined; items: number[] };
    session: { bytes: number; sha256: string };
}

const ROLES = new Set(["system", "user", "assistant", "observation"]);
/** llama.cpp's sequence state file: magic "ggsq" (LLAMA_FILE_MAGIC_GGSQ), version, token count, tokens. */
const SESSION_MAGIC = 0x67677371;

const isTokens = (a: unknown): a is number[] => Array.isArray(a) && a.every((t) => Number.isInteger(t) && t >= 0 && t < 2 ** 31);
// biome-ignore lint/suspicious/noExplicitAny: a shape check of parsed JSON
const isMessage = (m: any): m is TurnMessage =>
    m &&
    typeof m === "object" &&
    ROLES.has(m.role) &&
    (typeof m.content === "string" ||
        (Array.isArray(m.content) &&
            m.content.every((p: { type?: unknown; text?: unknown } | null) => p?.type === "text" && typeof p.text === "string")));

/** The parsed FILE.json, or a one-line error saying what is wrong with it. */
function readSaved(path: string): SavedChat {
    const bad = (why: string) => new UserError(`${path}.json is not a saved autoglm conversation (${why})`);
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked field by field below
    let s: any;
    try {
        s = JSON.parse(readFileSync(`${path}.json`, "utf8"));
    } catch (e) {
        throw bad((e as Error).message.split("\n")[0]!);
    }
    if (!s || typeof s !== "object") throw bad("not a JSON object");
    if (s.version === 1 || s.version === 2)
        throw new UserError(
            `${path}.json was saved by an older autoglm without a checksum of ${path}; it cannot be checked, so it is not loaded`,
        );
    if (s.version !== 3) throw bad(`version ${JSON.stringify(s.version)}`);
    if (!Array.isArray(s.messages) || !s.messages.every(isMessage))
        throw bad("messages must be system/user/assistant/observation messages with text content");
    if (
        !s.record ||
        typeof s.record !== "object" ||
        !isTokens(s.record.items) ||
        !(s.record.text === undefined || typeof s.record.text === "string")
    )
        throw bad("a bad record");
    if (!s.session || !Number.isSafeInteger(s.session.bytes) || typeof s.session.sha256 !== "string")
        throw bad("no size and checksum of the session file");
    return s as SavedChat;
}

function fileDigest(path: string): string {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** FILE is the session file FILE.json describes, and its header fits a sequence of `capacity` cells. */
function checkSessionFile(path: string, saved: SavedChat, capacity: number): void {
    const size = statSync(path).size;
    if (size !== saved.session.bytes)
        throw new UserError(`${path} has ${size} bytes but was saved with ${saved.session.bytes} (truncated or replaced); not loaded`);
    if (fileDigest(path) !== saved.session.sha256)
        throw new UserError(`${path} does not match the checksum saved in ${path}.json (corrupt or replaced); not loaded`);
    const head = Buffer.alloc(12);
    const fd = openSync(path, "r");
    try {
        readSync(fd, head, 0, 12, 0);
    } finally {
        closeSync(fd);
    }
    const tokens = head.readUInt32LE(8);
    if (size < 12 || head.readUInt32LE(0) !== SESSION_MAGIC) throw new UserError(`${path} is not a llama.cpp session file`);
    if (tokens > capacity || 12 + tokens * 4 > size)
        throw new UserError(
            `${path} holds ${tokens} tokens, more than this context's ${capacity} cells per sequence; start with a larger --ctx-size`,
        );
}

/** What a media item of the session became: its prompt part and what the turn reported. */
export interface DecodedMedia {
    part: ContentPart;
    report: MediaReport;
}

/** TurnSession.prefill's options. */
export type PrefillOptions = { enableThinking?: boolean; signal?: AbortSignal };

/** A session whose cache can be saved with its conversation (a local runtime's). */
export interface SavableSession extends TurnSession {
    save(path: string, messages: readonly TurnMessage[]): void;
    load(path: string): TurnMessage[];
}

export class LocalSession implements SavableSession {
    /** Media decoded by earlier turns, by their source's identity. */
    readonly decoded = new WeakMap<MediaSource, DecodedMedia>();
    private closed = false;
    private running = 0;
    private queue: Promise<unknown> = Promise.resolve();

    constructor(
        /** The runtime that made it: a session is used only with its own. */
        readonly owner: object,
        readonly slot: Slot,
        private readonly giveBack: (slot: Slot) => void,
        private readonly evaluate: (session: LocalSession, messages: TurnMessage[], o?: PrefillOptions) => Promise<number>,
    ) {}

    /** TurnSession.prefill, queued with the session's turns. */
    prefill(messages: TurnMessage[], o?: PrefillOptions): Promise<number> {
        return this.run(() => this.evaluate(this, messages, o));
    }

    reset(): void {
        // The KV cache itself is trimmed by the next job on this sequence (from its start position).
        this.slot.sequence.reset();
    }

    /** Gives the slot back now, or once the turns queued on it end. */
    close(): void {
        if (this.closed) return;
        this.closed = true;
        if (this.running === 0) this.giveBack(this.slot);
        else void this.queue.finally(() => this.giveBack(this.slot));
    }

    /** Runs `job` after the session's earlier turns: one turn at a time on its slot. */
    run<T>(job: () => Promise<T>): Promise<T> {
        if (this.closed) return Promise.reject(new UserError("the session is closed"));
        this.running++;
        const next = this.queue.then(job, job).finally(() => this.running--);
        this.queue = next.catch(() => {});
        return next;
    }

    /** Saves the KV cache (llama.cpp's session file) and the conversation beside it (FILE.json, with FILE's size and checksum), each through a temporary file. */
    save(path: string, messages: readonly TurnMessage[]): void {
        const record = this.slot.sequence.snapshot();
        const textOnly = messages.every((m) => typeof m.content === "string" || m.content.every((p) => p.type === "text"));
        if (!record || !textOnly)
            throw new UserError("a conversation with images or audio cannot be saved yet (llama.cpp session files hold text tokens only)");
        const tmp = `${path}.partial`;
        try {
            this.slot.sequence.save(tmp);
            const saved: SavedChat = {
                version: 3,
                messages: [...messages],
                record,
                session: { bytes: statSync(tmp).size, sha256: fileDigest(tmp) },
            };
            writeFileSync(`${tmp}.json`, JSON.stringify(saved));
            renameSync(tmp, path);
            renameSync(`${tmp}.json`, `${path}.json`);
        } catch (e) {
            throw e instanceof UserError ? e : new UserError(`cannot save to ${path}: ${(e as Error).message}`);
        }
    }

    /**
     * Restores a saved conversation and returns its messages. Everything is checked before llama.cpp
     * reads the session file; a load that fails leaves the conversation to the caller as it was (if
     * llama.cpp itself fails after the checks, the cache it cleared is rebuilt at the next turn).
     */
    load(path: string): TurnMessage[] {
        if (!existsSync(path) || !existsSync(`${path}.json`))
            throw new UserError(`no saved conversation at ${path} (needs ${path} and ${path}.json)`);
        const saved = readSaved(path);
        checkSessionFile(path, saved, this.slot.sequence.capacity);
        this.slot.sequence.load(path); // on failure the sequence is reset, its record empty: the next turn evaluates all
        this.slot.sequence.restore(saved.record);
        return saved.messages;
    }
}
