// A test double of the Engine (src/engine/turn.ts) for the agent's loop: it answers each turn with
// the next scripted raw model output (streamed as text events, in small pieces), records every
// TurnRequest it was given, and keeps count of sessions. Given one script per session, the n-th
// session opened answers from the n-th script (phones running concurrently each get their own). Open-AutoGLM's model check ("Hi", 5
// tokens) is answered without taking a scripted answer and recorded apart. Its sessions record what
// they are asked to prefill, as a local runtime's sessions evaluate it.
import { InternalError } from "../../src/core/errors.js";
import type { Engine, EngineInfo, FinishReason, TurnEvent, TurnRequest, TurnResult, TurnSession } from "../../src/engine/turn.js";

export interface ScriptedTurn {
    raw: string;
    finish?: FinishReason;
    contextFull?: boolean;
    /** Called when the turn starts (before any text), e.g. to press Ctrl-C while the model "thinks". */
    onStart?: (request: TurnRequest) => void;
}

export type ScriptItem = string | Error | ScriptedTurn;

const isCheck = (r: TurnRequest) => r.messages?.length === 1 && r.messages[0]!.content === "Hi";

export class ScriptedEngine implements Engine {
    readonly info: EngineInfo;
    /** Every agent turn, in order, as given (the messages array copied; the agent never changes a message it sent). */
    readonly requests: TurnRequest[] = [];
    readonly checks: TurnRequest[] = [];
    /** The session (by opening order) each request in `requests` came with. */
    readonly requestSessions: number[] = [];
    /** Every session prefill, in order (the messages copied), and whether a turn started before it ended. */
    readonly prefills: TurnRequest["messages"][] = [];
    sessionsOpened = 0;
    sessionsClosed = 0;
    disposed = false;
    private readonly scripts: ScriptItem[][];
    private readonly cursors: number[];
    private readonly sessionIndex = new Map<TurnSession, number>();
    private readonly checkError: Error | undefined;

    constructor(script: ScriptItem[] | { perSession: ScriptItem[][] }, o: { info?: Partial<EngineInfo>; checkError?: Error } = {}) {
        this.scripts = Array.isArray(script) ? [script] : script.perSession;
        this.cursors = this.scripts.map(() => 0);
        this.info = { model: "scripted", vision: true, audio: false, contextTokens: 65536, where: "local", ...o.info };
        this.checkError = o.checkError;
    }

    /** Answers not given yet, over all scripts. */
    get remaining(): number {
        return this.scripts.reduce((n, s, i) => n + s.length - this.cursors[i]!, 0);
    }

    async turn(request: TurnRequest, onEvent?: (event: TurnEvent) => void): Promise<TurnResult> {
        if (isCheck(request)) {
            this.checks.push(request);
            if (this.checkError) throw this.checkError;
            return this.result("Hello", "stop", false);
        }
        this.requests.push({ ...request, messages: [...(request.messages ?? [])] });
        const k = this.scripts.length === 1 ? 0 : (this.sessionIndex.get(request.session!) ?? -1);
        this.requestSessions.push(k);
        if (!this.scripts[k]) throw new InternalError("the scripted engine has one script per session and this turn has no session");
        const item = this.scripts[k]![this.cursors[k]!++];
        if (item === undefined) throw new InternalError(`the scripted engine has no answer left for turn ${this.requests.length}`);
        if (item instanceof Error) throw item;
        const turn: ScriptedTurn = typeof item === "string" ? { raw: item } : item;
        turn.onStart?.(request);
        const total = 1000 + 10 * this.requests.length;
        onEvent?.({ type: "prompt", cached: this.requests.length > 1 ? 800 : 0, total });
        if (request.signal?.aborted) return this.result("", "aborted", false);
        // Pieces of 3 code points: markers and tags arrive split, as they do from a real stream.
        const chars = [...turn.raw];
        for (let i = 0; i < chars.length; i += 3) onEvent?.({ type: "text", text: chars.slice(i, i + 3).join("") });
        return this.result(turn.raw, turn.finish ?? "stop", Boolean(turn.contextFull));
    }

    private result(raw: string, finish: FinishReason, contextFull: boolean): TurnResult {
        const n = this.requests.length;
        return {
            content: raw,
            reasoning: "",
            raw,
            finish,
            contextFull,
            usage: { promptTokens: 1000 + 10 * n, cachedTokens: n > 1 ? 800 : 0, completionTokens: [...raw].length },
            timings: { firstTokenMs: 50, promptMs: 40, encodeMs: 30, decodeMs: 20 },
            media: [],
        };
    }

    async openSession(): Promise<TurnSession> {
        let closed = false;
        const session: TurnSession = {
            prefill: async (messages) => {
                this.prefills.push([...messages]);
                return messages.length;
            },
            reset: () => {},
            close: () => {
                if (!closed) this.sessionsClosed++;
                closed = true;
            },
        };
        this.sessionIndex.set(session, this.sessionsOpened++);
        return session;
    }

    async dispose(): Promise<void> {
        this.disposed = true;
    }
}
