// A conversation over one session: renders the model's chat template for the whole history each
// turn, and reuses the KV cache for everything already evaluated (the previous prompt and answer).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Token } from "node-llama-cpp";
import { UserError } from "../../convert/errors.js";
import { ChatTemplate, type ChatMessage } from "./chat-template.js";
import { StreamingDetokenizer } from "./detokenizer.js";
import type { LoadedModel } from "./model.js";
import type { SamplingOptions } from "./native.js";
import type { GenerateStats, Session } from "./session.js";
import { StopStringFilter } from "./stop-strings.js";
import { ThinkingSplitter, type Piece } from "./thinking.js";

export interface ChatOptions {
    system?: string;
    /** undefined: the template's default. */
    enableThinking?: boolean;
    maxTokens: number;
    sampling?: SamplingOptions;
    ignoreEog?: boolean;
    /** The answer ends before the first of these strings (which is not shown). */
    stopStrings?: string[];
}

export interface TurnResult {
    content: string;
    reasoning: string;
    raw: string;
    stats: GenerateStats;
}

interface SavedChat { version: 1; messages: ChatMessage[]; lastText: string; lastTokens: number[] }

export class ChatSession {
    private messages: ChatMessage[] = [];
    /** The previous turn's prompt and answer as text, and the tokens the cache holds for them. */
    private lastText = "";
    private lastTokens: number[] = [];
    private readonly template: ChatTemplate;
    private readonly stopTokens: number[];

    constructor(private readonly loaded: LoadedModel, private readonly session: Session, private readonly opts: ChatOptions) {
        const source = loaded.model.fileInfo.metadata.tokenizer?.chat_template;
        if (typeof source !== "string" || !source) throw new UserError(`${loaded.path} has no chat template (tokenizer.chat_template)`);
        this.template = new ChatTemplate(source);
        // GLM ends a turn on <|observation|> too (a tool call): not always in llama.cpp's end-of-generation set.
        this.stopTokens = ["<|observation|>"].map((t) => loaded.model.tokenize(t, true)).filter((t) => t.length === 1).map((t) => t[0] as number);
        this.reset();
    }

    reset(): void {
        this.messages = this.opts.system ? [{ role: "system", content: this.opts.system }] : [];
        this.lastText = "";
        this.lastTokens = [];
        this.session.reset();
    }

    get history(): readonly ChatMessage[] { return this.messages; }

    private tokenize(text: string): number[] {
        return this.loaded.model.tokenize(text, true) as number[];
    }

    async send(user: string, onPiece?: (p: Piece) => void, signal?: AbortSignal): Promise<TurnResult> {
        this.messages.push({ role: "user", content: user });
        const text = this.template.render(this.messages, { addGenerationPrompt: true, enableThinking: this.opts.enableThinking });
        // When the history renders as before, only the new text is tokenized and the cached tokens
        // are kept exactly; otherwise (a template that rewrites history) the session's prefix match applies.
        const prompt = this.lastText && text.startsWith(this.lastText)
            ? [...this.lastTokens, ...this.tokenize(text.slice(this.lastText.length))]
            : this.tokenize(text);
        const detok = new StreamingDetokenizer(this.loaded.model);
        const stops = new StopStringFilter(this.opts.stopStrings ?? []);
        const splitter = new ThinkingSplitter();
        const pieces: Piece[] = [];
        let shown = "";
        const take = (text: string) => {
            shown += text;
            for (const p of splitter.push(text)) { pieces.push(p); onPiece?.(p); }
        };
        // A stop string aborts the generation; the user's signal does too.
        const stopper = new AbortController();
        const onAbort = () => stopper.abort();
        signal?.addEventListener("abort", onAbort, { once: true });
        if (signal?.aborted) stopper.abort();
        let stats: GenerateStats;
        try {
            stats = await this.session.generate(prompt, {
                maxTokens: this.opts.maxTokens, sampling: this.opts.sampling, ignoreEog: this.opts.ignoreEog,
                stopTokens: this.stopTokens, signal: stopper.signal,
                onToken: (t) => {
                    take(stops.push(detok.push(t)));
                    if (stops.stopped) stopper.abort();
                },
            });
        } catch (e) {
            this.messages.pop(); // the turn failed: the conversation stays as it was
            this.lastText = "";
            this.lastTokens = [];
            throw e;
        } finally {
            signal?.removeEventListener("abort", onAbort);
        }
        take(stops.push(detok.flush()));
        take(stops.flush());
        for (const p of splitter.flush()) { pieces.push(p); onPiece?.(p); }
        if (stops.stopped) stats = { ...stats, reason: "stop" };
        const raw = stops.stopped ? shown : this.loaded.model.detokenize(Array.from(stats.tokens) as Token[]);
        this.messages.push({ role: "assistant", content: raw });
        // After a stop string the cache holds tokens past the text kept: the next turn re-tokenizes
        // and relies on the session's prefix match instead of the exact text continuation.
        this.lastText = stops.stopped ? "" : text + raw;
        this.lastTokens = stops.stopped ? [] : [...prompt, ...stats.tokens];
        const join = (kind: Piece["kind"]) => pieces.filter((p) => p.kind === kind).map((p) => p.text).join("");
        return { content: join("content").trim(), reasoning: join("reasoning").trim(), raw, stats };
    }

    /** Saves the KV cache (llama.cpp's session file) and the conversation beside it (FILE.json). */
    save(path: string): void {
        this.session.save(path);
        const saved: SavedChat = { version: 1, messages: this.messages, lastText: this.lastText, lastTokens: this.lastTokens };
        try {
            writeFileSync(`${path}.json`, JSON.stringify(saved));
        } catch (e) {
            throw new UserError(`cannot write ${path}.json: ${(e as Error).message}`);
        }
    }

    load(path: string): void {
        if (!existsSync(path) || !existsSync(`${path}.json`)) throw new UserError(`no saved conversation at ${path} (needs ${path} and ${path}.json)`);
        let saved: SavedChat;
        try {
            saved = JSON.parse(readFileSync(`${path}.json`, "utf8"));
        } catch {
            throw new UserError(`${path}.json is not a saved autoglm conversation`);
        }
        if (saved.version !== 1 || !Array.isArray(saved.messages)) throw new UserError(`${path}.json is not a saved autoglm conversation`);
        try {
            this.session.load(path);
        } catch (e) {
            // The cache was cleared: the old conversation cannot continue from it either.
            this.reset();
            throw e;
        }
        this.messages = saved.messages;
        this.lastText = saved.lastText;
        this.lastTokens = saved.lastTokens;
    }
}
