// The terminal chat's input history, kept across sessions as shells and ollama keep theirs: one
// entry a line, oldest first, in $XDG_STATE_HOME/autoglm/chat_history (default
// ~/.local/state/autoglm), at most MAX_ENTRIES, readable by its owner only (prompts can be private).
// --no-history or AUTOGLM_NO_HISTORY=1 keeps nothing.

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export const MAX_ENTRIES = 1000;

export function historyPath(env: NodeJS.ProcessEnv = process.env): string {
    const state = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
    return join(state, "autoglm", "chat_history");
}

export class ChatHistory {
    private entries: string[] = [];
    private warned = false;

    /** Reads the file (none yet: an empty history); warn says once why it could not be written. */
    constructor(
        readonly path: string,
        private readonly warn: (line: string) => void,
    ) {
        try {
            this.entries = readFileSync(path, "utf8").split("\n").filter(Boolean).slice(-MAX_ENTRIES);
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENOENT")
                warn(`autoglm: cannot read the chat history ${path}: ${(e as Error).message}`);
        }
    }

    /** Newest first, as node:readline's `history` option wants it. */
    get newestFirst(): string[] {
        return [...this.entries].reverse();
    }

    /**
     * Records one line the user entered. A multi-line turn is not recorded: readline recalls one
     * line at a time, and a line broken by its newlines would come back as several turns.
     */
    add(line: string): void {
        if (!line.trim() || line.includes("\n") || this.entries[this.entries.length - 1] === line) return;
        this.entries.push(line);
        if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
        try {
            mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
            const tmp = `${this.path}.${process.pid}.partial`;
            writeFileSync(tmp, `${this.entries.join("\n")}\n`, { mode: 0o600 });
            chmodSync(tmp, 0o600);
            renameSync(tmp, this.path);
        } catch (e) {
            if (!this.warned)
                this.warn(`autoglm: cannot write the chat history ${this.path}: ${(e as Error).message} (the chat goes on without it)`);
            this.warned = true;
        }
    }
}

/** The history the flags and environment allow, or none. */
export function openHistory(enabled: boolean, warn: (line: string) => void, env: NodeJS.ProcessEnv = process.env): ChatHistory | undefined {
    if (!enabled || (env.AUTOGLM_NO_HISTORY && env.AUTOGLM_NO_HISTORY !== "0")) return undefined;
    return new ChatHistory(historyPath(env), warn);
}
