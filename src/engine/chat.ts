// A conversation over one session: renders the model's chat template for the whole history each
// turn, and reuses the KV cache for everything already evaluated (the previous prompt and answer).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Token } from "node-llama-cpp";
import { UserError } from "../../convert/errors.js";
import { ChatTemplate, type ChatMessage, type ContentPart } from "./chat-template.js";
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

/** What a prompt item leaves in memory once evaluated: media keep their id and size, not their pixels. */
const evaluated = (i: PromptItem): PromptItem => (typeof i === "number" ? i : { ...i, chunk: undefined });

export class ChatSession {
    private messages: ChatMessage[] = [];
    /** The media of the conversation in the order their markers appear in the rendered prompt. */
    private media: { kind: MediaKind; item: MediaItem }[] = [];
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
        this.media = [];
        this.lastText = "";
        this.lastItems = [];
        this.session.reset();
    }

    get history(): readonly ChatMessage[] { return this.messages; }

    private tokenize(text: string): number[] {
        return this.loaded.model.tokenize(text, true) as number[];
    }

    private encoderFor(kinds: Set<MediaKind>): LazyResource<NativeMedia> {
        const encoders = new Set([...kinds].map((k) => {
            const e = this.opts.encoders?.[k];
            if (!e) throw new UserError(k === "image" ? "this chat has no vision encoder: start it with --mmproj" : "this chat model has no audio encoder (give --mmproj with one, or --asr-model and --asr-mmproj)");
            return e;
        }));
        if (encoders.size > 1) throw new UserError("images and audio in one prompt need one mmproj with both encoders");
        return [...encoders][0]!;
    }

    async send(user: string | UserTurn, onPiece?: (p: Piece) => void, signal?: AbortSignal): Promise<TurnResult> {
        const turn = typeof user === "string" ? { text: user } : user;
        const media = (turn.media ?? []).map((m) => ({ kind: m.kind, item: withMediaId(m.item) }));
        const content: ChatMessage["content"] = media.length ? [...media.map((m): ContentPart => ({ type: m.kind })), { type: "text", text: turn.text }] : turn.text;
        this.messages.push({ role: "user", content });
        this.media.push(...media);
        try {
            const text = mediaPromptText(this.template, this.messages, { enableThinking: this.opts.enableThinking });
            // When the history renders as before, only the new text is tokenized and the cached items
            // (tokens and media) are kept exactly; otherwise (a template that rewrites history) the
            // session's prefix match applies, and media match by content id.
            const continuation = this.lastText !== "" && text.startsWith(this.lastText);
            const suffix = continuation ? text.slice(this.lastText.length) : text;
            const base = continuation ? this.lastItems : [];
            const fresh = this.media.slice(this.media.length - countMarkers(suffix));
            if (fresh.length === 0) return await this.generate(text, [...base, ...this.tokenize(suffix)], onPiece, signal);
            return await this.encoderFor(new Set(fresh.map((m) => m.kind))).use((encoder) =>
                this.generate(text, [...base, ...promptItems(encoder.tokenize(suffix, fresh.map((m) => m.item)))], onPiece, signal));
        } catch (e) {
            // The turn failed: the conversation stays as it was.
            this.messages.pop();
            this.media.length -= media.length;
            this.lastText = "";
            this.lastItems = [];
            throw e;
        }
    }

    private async generate(text: string, prompt: PromptItem[], onPiece: ((p: Piece) => void) | undefined, signal: AbortSignal | undefined): Promise<TurnResult> {
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
        this.lastItems = stops.stopped ? [] : [...prompt.map(evaluated), ...stats.tokens];
        const join = (kind: Piece["kind"]) => pieces.filter((p) => p.kind === kind).map((p) => p.text).join("");
        return { content: join("content").trim(), reasoning: join("reasoning").trim(), raw, stats };
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
        this.media = [];
        this.lastText = saved.lastText;
        this.lastItems = saved.lastTokens;
    }
}
