// One streamed answer from a remote engine, chunk by chunk, as the turn's events and result. The
// thinking arrives two ways: left in the content as <think>...</think> (vLLM without a reasoning
// parser, as Open-AutoGLM runs it; autoglm serve by default; llama-server's content-only format), or
// split into reasoning_content (reasoning in newer vLLM) by the server. Both give the same events,
// and `raw` is the model's text either way (the thinking put back inside its tags).

import { ThinkingSplitter, type Piece } from "../engine/thinking.js";
import type { FinishReason, TurnEvent, TurnResult } from "../engine/turn.js";
import { RemoteError } from "./endpoint.js";

/** A streamed chunk as the servers send it; every field is checked before use (the server is not trusted). */
export interface Chunk {
    error?: unknown;
    object?: unknown;
    message?: unknown;
    choices?: {
        delta?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown };
        text?: unknown;
        finish_reason?: unknown;
    }[];
    usage?: { prompt_tokens?: unknown; completion_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } };
    /** llama-server's and autoglm's. */
    timings?: { prompt_n?: unknown; cache_n?: unknown; prompt_ms?: unknown; predicted_n?: unknown };
}

const num = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : undefined);

export class AnswerStream {
    private readonly splitter?: ThinkingSplitter;
    private content = "";
    private reasoning = "";
    private raw = "";
    private inServerReasoning = false;
    private chunksWithText = 0;
    private firstAt?: number;
    private lastAt?: number;
    private finish?: string;
    private usage?: NonNullable<Chunk["usage"]>;
    private timings?: NonNullable<Chunk["timings"]>;

    constructor(
        private readonly sentAt: number,
        split: boolean,
        private readonly onEvent: (e: TurnEvent) => void,
        private readonly where: string,
    ) {
        if (split) this.splitter = new ThinkingSplitter();
    }

    /** One `data:` event's JSON; throws the server's error event as one line. */
    chunk(data: Chunk): void {
        if ((data.error !== undefined && data.error !== null) || data.object === "error") {
            const e = (data.error ?? data) as { message?: unknown; code?: unknown };
            const message = typeof e === "string" ? e : typeof e?.message === "string" ? e.message : JSON.stringify(e);
            throw new RemoteError(
                `${this.where} stopped the answer with an error: ${message.replace(/\s+/g, " ").trim()}`,
                num(e?.code) ?? 500,
            );
        }
        if (data.usage && typeof data.usage === "object") this.usage = data.usage;
        if (data.timings && typeof data.timings === "object") this.timings = data.timings;
        const choice = Array.isArray(data.choices) ? data.choices[0] : undefined;
        if (!choice || typeof choice !== "object") return;
        const delta = choice.delta && typeof choice.delta === "object" ? choice.delta : {};
        const reasoning: unknown = delta.reasoning_content ?? delta.reasoning;
        const content: unknown = delta.content ?? choice.text; // chat, or text completions
        const now = performance.now();
        if (typeof reasoning === "string" && reasoning) {
            this.token(now);
            if (!this.inServerReasoning) this.rawText("<think>");
            this.inServerReasoning = true;
            this.rawText(reasoning);
            if (this.splitter) this.emit([{ kind: "reasoning", text: reasoning }]);
        }
        if (typeof content === "string" && content) {
            this.token(now);
            this.closeServerReasoning();
            this.rawText(content);
            if (this.splitter) this.emit(this.splitter.push(content));
        }
        if (typeof choice.finish_reason === "string" && choice.finish_reason) {
            this.finish = choice.finish_reason;
            this.firstAt ??= now; // an answer with no visible text: its end is its first token
            this.lastAt = now; // the answer's end as the client sees it (servers may send the last tokens together)
        }
    }

    get finished(): boolean {
        return this.finish !== undefined;
    }

    /** The result; `aborted` when the caller cancelled the stream part-way. */
    result(aborted: boolean, maxTokens?: number): TurnResult {
        this.closeServerReasoning();
        if (this.splitter) this.emit(this.splitter.flush());
        const finish: FinishReason = aborted ? "aborted" : this.finish === "length" ? "length" : "stop";
        const u = this.usage ?? {},
            t = this.timings ?? {};
        const counted = num(u.completion_tokens) ?? num(t.predicted_n);
        // Without the server's count, chunks stand in (a chunk may carry several tokens).
        const completionTokens = counted ?? this.chunksWithText;
        const evaluated = num(t.prompt_n);
        const firstTokenMs = this.firstAt !== undefined ? this.firstAt - this.sentAt : 0;
        return {
            content: this.splitter ? this.content : this.raw,
            reasoning: this.reasoning,
            raw: this.raw,
            finish,
            // Cut by the server's limit, not by the caller's max_tokens: known only from the server's count.
            contextFull: finish === "length" && counted !== undefined && (maxTokens === undefined || counted < maxTokens),
            usage: {
                promptTokens: num(u.prompt_tokens) ?? (evaluated !== undefined ? evaluated + (num(t.cache_n) ?? 0) : 0),
                cachedTokens: num(u.prompt_tokens_details?.cached_tokens) ?? num(t.cache_n) ?? 0,
                completionTokens,
            },
            timings: {
                firstTokenMs,
                promptMs: num(t.prompt_ms) ?? firstTokenMs,
                encodeMs: 0, // no server reports it apart: it is inside promptMs
                decodeMs: this.firstAt !== undefined && this.lastAt !== undefined ? this.lastAt - this.firstAt : 0,
            },
            media: [],
        };
    }

    private token(now: number) {
        this.firstAt ??= now;
        this.lastAt = now;
        this.chunksWithText++;
    }

    private rawText(text: string) {
        this.raw += text;
        if (!this.splitter) this.onEvent({ type: "text", text });
    }

    private closeServerReasoning() {
        if (!this.inServerReasoning) return;
        this.inServerReasoning = false;
        this.rawText("</think>");
    }

    private emit(pieces: Piece[]) {
        for (const p of pieces) {
            if (p.kind === "reasoning") this.reasoning += p.text;
            else this.content += p.text;
            this.onEvent({ type: p.kind === "reasoning" ? "reasoning" : "text", text: p.text });
        }
    }
}
