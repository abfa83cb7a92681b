// A conversation on one runtime slot: keeps the messages, renders the model's chat template for
// the whole history each turn, and lets the slot's record reuse the KV cache for everything
// already evaluated (the previous prompts and answers, images included).

import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from "node:fs";
import { UserError } from "../core/errors.js";
import type { ChatMessage, MediaPart } from "./chat-template.js";
import type { Runtime, TurnOptions, TurnResult, UserTurn } from "./runtime.js";
import type { Slot } from "./slots.js";
import type { Piece } from "./thinking.js";

export interface ChatOptions extends TurnOptions {
    system?: string;
    /** undefined: the template's default. */
    enableThinking?: boolean;
}

/**
 * FILE.json beside llama.cpp's session file FILE: the conversation, the slot's record, and FILE's
 * size and SHA-256, checked before llama.cpp reads FILE (it asserts on a truncated file and
 * allocates whatever a corrupt one claims).
 */
interface SavedChat {
    version: 3;
    messages: ChatMessage[];
    record: { text: string | undefined; items: number[] };
    session: { bytes: number; sha256: string };
}

const ROLES = new Set(["system", "user", "assistant", "observation"]);
/** llama.cpp's sequence state file: magic "ggsq" (LLAMA_FILE_MAGIC_GGSQ), version, token count, tokens. */
const SESSION_MAGIC = 0x67677371;

const isTokens = (a: unknown): a is number[] => Array.isArray(a) && a.every((t) => Number.isInteger(t) && t >= 0 && t < 2 ** 31);
// biome-ignore lint/suspicious/noExplicitAny: a shape check of parsed JSON
const isMessage = (m: any): m is ChatMessage =>
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

const mediaParts = (messages: readonly ChatMessage[]) =>
    messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.filter((p): p is MediaPart => p.type !== "text")));

export class ChatSession {
    private messages: ChatMessage[] = [];

    constructor(
        private readonly runtime: Runtime,
        private readonly slot: Slot,
        private readonly opts: ChatOptions,
    ) {
        this.reset();
    }

    reset(): void {
        this.messages = this.opts.system ? [{ role: "system", content: this.opts.system }] : [];
        this.slot.sequence.reset();
    }

    get history(): readonly ChatMessage[] {
        return this.messages;
    }

    /** Adds a user turn to the conversation and answers it. */
    async send(user: string | UserTurn, onPiece?: (p: Piece) => void, signal?: AbortSignal): Promise<TurnResult> {
        const turn = typeof user === "string" ? { text: user } : user;
        const media = turn.media ?? [];
        this.messages.push({ role: "user", content: media.length ? [...media, { type: "text", text: turn.text }] : turn.text });
        try {
            const text = this.runtime.render(this.messages, this.opts.enableThinking);
            const r = await this.runtime.respond(this.slot, text, mediaParts(this.messages), { ...this.opts, onPiece, signal });
            // Stopped before its prompt was in: the turn did not happen.
            if (!r.stats.promptComplete) this.messages.pop();
            else this.messages.push({ role: "assistant", content: r.raw });
            return r;
        } catch (e) {
            this.messages.pop(); // the turn failed: the conversation stays as it was
            throw e;
        }
    }

    /** Saves the KV cache (llama.cpp's session file) and the conversation beside it (FILE.json, with FILE's size and checksum), each through a temporary file. */
    save(path: string): void {
        const record = this.slot.sequence.snapshot();
        if (!record)
            throw new UserError("a conversation with images or audio cannot be saved yet (llama.cpp session files hold text tokens only)");
        const tmp = `${path}.partial`;
        try {
            this.slot.sequence.save(tmp);
            const saved: SavedChat = {
                version: 3,
                messages: this.messages,
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
     * Restores a saved conversation. Everything is checked before llama.cpp reads the session file;
     * a load that fails keeps the current conversation (if llama.cpp itself fails after the checks,
     * the cache it cleared is rebuilt from the messages at the next turn).
     */
    load(path: string): void {
        if (!existsSync(path) || !existsSync(`${path}.json`))
            throw new UserError(`no saved conversation at ${path} (needs ${path} and ${path}.json)`);
        const saved = readSaved(path);
        checkSessionFile(path, saved, this.slot.sequence.capacity);
        this.slot.sequence.load(path); // on failure the sequence is reset, its record empty: the next turn evaluates all
        this.slot.sequence.restore(saved.record);
        this.messages = saved.messages;
    }
}
