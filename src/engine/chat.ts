// A conversation over one session: renders the model's chat template for the whole history each
// turn, and reuses the KV cache for everything already evaluated (the previous prompt and answer).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Token } from "node-llama-cpp";
import { UserError } from "../core/errors.js";
import { ChatTemplate, type ChatMessage, type MediaPart } from "./chat-template.js";
import type { LazyResource } from "./lazy-resource.js";
import { countMarkers, mediaPromptText, withMediaId } from "./media-prompt.js";
import { StreamingDetokenizer } from "./detokenizer.js";
import type { LoadedModel } from "./model.js";
import type { MediaItem, NativeMedia, SamplingOptions } from "./native.js";
import { promptItems, type GenerateStats, type PromptItem, type Session } from "./session.js";
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
    /** Encoders for image and audio parts (one may serve both), loaded when first needed. */
    encoders?: { image?: LazyResource<NativeMedia>; audio?: LazyResource<NativeMedia> };
}

export type MediaKind = "image" | "audio";

/** A user turn with images or audio clips before its text. */
export interface UserTurn { text: string; media?: { kind: MediaKind; item: MediaItem }[] }

export interface TurnResult {
    content: string;
    reasoning: string;
    raw: string;
    stats: GenerateStats;
}

interface SavedChat { version: 1; messages: ChatMessage[]; lastText: string; lastTokens: number[] }

interface Generated { prompt: PromptItem[]; stopped: boolean; result: TurnResult }

/** What a prompt item leaves in memory once evaluated: media keep their id and size, not their pixels. */
const evaluated = (i: PromptItem): PromptItem => (typeof i === "number" ? i : { ...i, chunk: undefined });

/** Per-call settings: a server request brings its own limits, sampling and stop strings. */
export type TurnOptions = Partial<Omit<ChatOptions, "system" | "encoders">> & { signal?: AbortSignal; onPiece?: (p: Piece) => void };

/** Raw completions stream the text as it comes: no <think> split. */
type GenerateOptions = TurnOptions & { raw?: boolean };

const mediaParts = (messages: readonly ChatMessage[]) =>
    messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.filter((p): p is MediaPart => p.type !== "text")));

export class ChatSession {
    private messages: ChatMessage[] = [];
    /** The previous turn's prompt and answer as text, and the items (tokens, media) the cache holds for them. */
    private lastText = "";
    private lastItems: PromptItem[] = [];
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
        this.lastItems = [];
        this.session.reset();
    }

    get history(): readonly ChatMessage[] { return this.messages; }

    private tokenize(text: string): number[] {
        return this.loaded.model.tokenize(text, true) as number[];
    }

    private encoderFor(parts: MediaPart[]): LazyResource<NativeMedia> {
        const encoders = new Set(parts.map((p) => {
            const e = this.opts.encoders?.[p.type];
            if (!e) throw new UserError(p.type === "image" ? "this chat has no vision encoder: start it with --mmproj" : "this chat model has no audio encoder (give --mmproj with one, or --asr-model and --asr-mmproj)");
            return e;
        }));
        if (encoders.size > 1) throw new UserError("images and audio in one prompt need one mmproj with both encoders");
        return [...encoders][0]!;
    }

    /** Prompt items for `text` (markers for `parts`), after `base`; generation runs inside the encoder's use. */
    private withPrompt(text: string, base: PromptItem[], parts: MediaPart[], run: (prompt: PromptItem[]) => Promise<Generated>): Promise<Generated> {
        if (parts.length === 0) return run([...base, ...this.tokenize(text)]);
        return this.encoderFor(parts).use((encoder) => {
            const items = parts.map((p) => {
                if (!p.item) throw new UserError(`the ${p.type} has no data`);
                return p.item;
            });
            return run([...base, ...promptItems(encoder.tokenize(text, items))]);
        });
    }

    /** Adds a user turn to the conversation and answers it. */
    async send(user: string | UserTurn, onPiece?: (p: Piece) => void, signal?: AbortSignal): Promise<TurnResult> {
        const turn = typeof user === "string" ? { text: user } : user;
        const media = (turn.media ?? []).map((m): MediaPart => ({ type: m.kind, item: withMediaId(m.item) }));
        this.messages.push({ role: "user", content: media.length ? [...media, { type: "text", text: turn.text }] : turn.text });
        try {
            const text = mediaPromptText(this.template, this.messages, { enableThinking: this.opts.enableThinking });
            // When the history renders as before, only the new text is tokenized and the cached items
            // (tokens and media) are kept exactly; otherwise (a template that rewrites history) the
            // session's prefix match applies, and media match by content id.
            const continuation = this.lastText !== "" && text.startsWith(this.lastText);
            const suffix = continuation ? text.slice(this.lastText.length) : text;
            const all = mediaParts(this.messages);
            const g = await this.withPrompt(suffix, continuation ? this.lastItems : [], all.slice(all.length - countMarkers(suffix)), (prompt) => this.generate(prompt, { onPiece, signal }));
            this.messages.push({ role: "assistant", content: g.result.raw });
            // After a stop string the cache holds tokens past the text kept: the next turn re-tokenizes
            // and relies on the session's prefix match instead of the exact text continuation.
            this.lastText = g.stopped ? "" : text + g.result.raw;
            this.lastItems = g.stopped ? [] : [...g.prompt.map(evaluated), ...g.result.stats.tokens];
            return g.result;
        } catch (e) {
            // The turn failed: the conversation stays as it was.
            this.messages.pop();
            this.lastText = "";
            this.lastItems = [];
            throw e;
        }
    }

    /** The prompt text `messages` render to (a server compares it with what each slot holds). */
    promptText(messages: ChatMessage[], enableThinking?: boolean): string {
        return mediaPromptText(this.template, messages, { enableThinking: enableThinking ?? this.opts.enableThinking });
    }

    /** Continues `text` as it is: no chat template, no thinking split (the completions endpoint). */
    async complete(text: string, opts: TurnOptions = {}): Promise<TurnResult> {
        this.lastText = "";
        this.lastItems = [];
        if (text.length === 0) throw new UserError("the prompt is empty");
        return (await this.generate(this.tokenize(text), { ...opts, raw: true })).result;
    }

    /**
     * Answers a whole conversation given by the caller (a server request resends its history): the
     * session's prefix match reuses whatever of it the KV cache already holds, images included.
     * `text`: the prompt text, when the caller has rendered it already (promptText).
     */
    async respond(messages: ChatMessage[], opts: TurnOptions = {}, text = this.promptText(messages, opts.enableThinking)): Promise<TurnResult> {
        this.lastText = "";
        this.lastItems = [];
        const parts = mediaParts(messages).map((p) => (p.item && !p.item.id ? { ...p, item: withMediaId(p.item) } : p));
        return (await this.withPrompt(text, [], parts, (prompt) => this.generate(prompt, opts))).result;
    }

    private async generate(prompt: PromptItem[], o: GenerateOptions): Promise<Generated> {
        const opts = { ...this.opts, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as ChatOptions & GenerateOptions;
        const detok = new StreamingDetokenizer(this.loaded.model);
        const stops = new StopStringFilter(opts.stopStrings ?? []);
        const splitter = opts.raw ? undefined : new ThinkingSplitter();
        const pieces: Piece[] = [];
        let shown = "";
        const emit = (ps: Piece[]) => { for (const p of ps) { pieces.push(p); opts.onPiece?.(p); } };
        const take = (text: string) => {
            shown += text;
            emit(splitter ? splitter.push(text) : text ? [{ kind: "content", text }] : []);
        };
        // A stop string aborts the generation; the caller's signal does too.
        const stopper = new AbortController();
        const onAbort = () => stopper.abort();
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        if (opts.signal?.aborted) stopper.abort();
        let stats: GenerateStats;
        try {
            stats = await this.session.generate(prompt, {
                maxTokens: opts.maxTokens, sampling: opts.sampling, ignoreEog: opts.ignoreEog,
                stopTokens: this.stopTokens, signal: stopper.signal,
                onToken: (t) => {
                    take(stops.push(detok.push(t)));
                    if (stops.stopped) stopper.abort();
                },
            });
        } finally {
            opts.signal?.removeEventListener("abort", onAbort);
        }
        take(stops.push(detok.flush()));
        take(stops.flush());
        if (splitter) emit(splitter.flush());
        if (stops.stopped) stats = { ...stats, reason: "stop" };
        const raw = stops.stopped ? shown : this.loaded.model.detokenize(Array.from(stats.tokens) as Token[]);
        const join = (kind: Piece["kind"]) => pieces.filter((p) => p.kind === kind).map((p) => p.text).join("");
        return { prompt, stopped: stops.stopped, result: { content: join("content").trim(), reasoning: join("reasoning").trim(), raw, stats } };
    }

    /** Saves the KV cache (llama.cpp's session file) and the conversation beside it (FILE.json). */
    save(path: string): void {
        this.session.save(path);
        const lastTokens = this.lastItems.filter((i): i is number => typeof i === "number");
        const saved: SavedChat = { version: 1, messages: this.messages, lastText: this.lastText, lastTokens };
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
        this.lastItems = saved.lastTokens;
    }
}
