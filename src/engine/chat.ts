// A conversation on one runtime slot: keeps the messages, renders the model's chat template for
// the whole history each turn, and lets the slot's record reuse the KV cache for everything
// already evaluated (the previous prompts and answers, images included).

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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

interface SavedChat { version: 2; messages: ChatMessage[]; record: { text: string | undefined; items: number[] } }
/** Files saved before the runtime kept the record (autoglm 0.1 sessions 1-7). */
interface SavedChatV1 { version: 1; messages: ChatMessage[]; lastText: string; lastTokens: number[] }

function savedRecord(s: SavedChat | SavedChatV1): SavedChat["record"] | undefined {
    if (s?.version === 2 && Array.isArray(s.record?.items)) return s.record;
    if (s?.version === 1 && Array.isArray(s.lastTokens)) return { text: s.lastText || undefined, items: s.lastTokens };
    return undefined;
}

const mediaParts = (messages: readonly ChatMessage[]) =>
    messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.filter((p): p is MediaPart => p.type !== "text")));

export class ChatSession {
    private messages: ChatMessage[] = [];

    constructor(private readonly runtime: Runtime, private readonly slot: Slot, private readonly opts: ChatOptions) {
        this.reset();
    }

    reset(): void {
        this.messages = this.opts.system ? [{ role: "system", content: this.opts.system }] : [];
        this.slot.sequence.reset();
    }

    get history(): readonly ChatMessage[] { return this.messages; }

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

    /** Saves the KV cache (llama.cpp's session file) and the conversation beside it (FILE.json), each through a temporary file. */
    save(path: string): void {
        const record = this.slot.sequence.snapshot();
        if (!record) throw new UserError("a conversation with images or audio cannot be saved yet (llama.cpp session files hold text tokens only)");
        const saved: SavedChat = { version: 2, messages: this.messages, record };
        const tmp = `${path}.partial`;
        try {
            this.slot.sequence.save(tmp);
            writeFileSync(`${tmp}.json`, JSON.stringify(saved));
            renameSync(tmp, path);
            renameSync(`${tmp}.json`, `${path}.json`);
        } catch (e) {
            throw e instanceof UserError ? e : new UserError(`cannot save to ${path}: ${(e as Error).message}`);
        }
    }

    load(path: string): void {
        if (!existsSync(path) || !existsSync(`${path}.json`)) throw new UserError(`no saved conversation at ${path} (needs ${path} and ${path}.json)`);
        let saved: SavedChat | SavedChatV1;
        try {
            saved = JSON.parse(readFileSync(`${path}.json`, "utf8"));
        } catch {
            throw new UserError(`${path}.json is not a saved autoglm conversation`);
        }
        const record = savedRecord(saved);
        if (!record || !Array.isArray(saved.messages)) throw new UserError(`${path}.json is not a saved autoglm conversation`);
        try {
            this.slot.sequence.load(path);
        } catch (e) {
            this.reset(); // the cache was cleared: the old conversation cannot continue from it either
            throw e;
        }
        this.slot.sequence.restore(record);
        this.messages = saved.messages;
    }
}
