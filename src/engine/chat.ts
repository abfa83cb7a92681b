// A conversation over any engine: keeps the messages and sends the whole history each turn through
// engine.turn on the conversation's session (a local runtime pins a slot to it, so its KV cache
// already holds everything but the new turn, images included).

import { UserError } from "../core/errors.js";
import { transcriptText } from "./media-policy.js";
import type { SavableSession } from "./session.js";
import type { Engine, TurnEvent, TurnMessage, TurnPart, TurnRequest, TurnResult, TurnSession } from "./turn.js";

/** What every turn of the conversation asks besides its messages: sampling, limits, stop strings, thinking, grammar. */
export type ChatSettings = Omit<TurnRequest, "messages" | "prompt" | "session" | "signal">;

export interface ChatOptions extends ChatSettings {
    system?: string;
}

const savable = (s: TurnSession): s is SavableSession => typeof (s as Partial<SavableSession>).save === "function";

export class ChatSession {
    private messages: TurnMessage[] = [];

    constructor(
        private readonly engine: Engine,
        private readonly session: TurnSession,
        private readonly opts: ChatOptions,
    ) {
        this.reset();
    }

    /** Opens a session on `engine` for a new conversation. */
    static async open(engine: Engine, opts: ChatOptions): Promise<ChatSession> {
        return new ChatSession(engine, await engine.openSession(), opts);
    }

    reset(): void {
        this.messages = this.opts.system ? [{ role: "system", content: this.opts.system }] : [];
        this.session.reset();
    }

    get history(): readonly TurnMessage[] {
        return this.messages;
    }

    /** Adds a user turn (text, or media parts and text) to the conversation and answers it. */
    async send(content: string | TurnPart[], onEvent?: (e: TurnEvent) => void, signal?: AbortSignal): Promise<TurnResult> {
        const { system: _, ...settings } = this.opts;
        this.messages.push({ role: "user", content });
        try {
            const r = await this.engine.turn({ ...settings, messages: [...this.messages], session: this.session, signal }, onEvent);
            // Stopped before anything was said: the turn did not happen.
            if (r.finish === "aborted" && r.raw === "") this.messages.pop();
            else {
                this.keepTranscripts(r);
                this.messages.push({ role: "assistant", content: r.raw });
            }
            return r;
        } catch (e) {
            this.messages.pop(); // the turn failed: the conversation stays as it was
            throw e;
        }
    }

    /**
     * A clip the speech model transcribed stays in the conversation as its transcript, the text the
     * model saw (the same prompt, and a conversation that can be saved); the new message's media
     * are the request's last ones.
     */
    private keepTranscripts(r: TurnResult): void {
        const message = this.messages[this.messages.length - 1]!;
        if (typeof message.content === "string") return;
        const media: TurnPart[] = message.content.filter((p) => p.type !== "text");
        const reports = r.media.slice(r.media.length - media.length);
        message.content = message.content.map((p) => {
            const report = reports[media.indexOf(p)];
            return p.type === "audio" && report?.kind === "audio" && report.transcript !== undefined
                ? { type: "text", text: transcriptText(report.transcript) }
                : p;
        });
    }

    /** Saves the conversation and its KV cache (FILE and FILE.json): a local engine only. */
    save(path: string): void {
        this.local().save(path, this.messages);
    }

    /** Restores a saved conversation; on failure the current one stays. */
    load(path: string): void {
        this.messages = this.local().load(path);
    }

    close(): void {
        this.session.close();
    }

    /** The session's cache, where the engine's session can save one (TurnSession: a remote engine keeps nothing per conversation). */
    private local(): SavableSession {
        if (savable(this.session)) return this.session;
        const { where } = this.engine.info;
        throw new UserError(
            where === "local"
                ? "saving a conversation needs a local model (its KV cache is saved with it)"
                : `/save and /load need a local model: the engine at ${where} keeps no KV cache this client can save or restore; a chat with a local model can be saved`,
        );
    }
}
