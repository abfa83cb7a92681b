// The runtime between every front end and the native context: one model, one context of N
// sequences (slots) with their cache records, the lazily loaded encoder and speech model, one
// thread budget, the chat template, the media policy and the sampling defaults. `chat`, `describe`
// and `transcribe-and-answer` use one slot; `serve` uses N; `bench` measures through it.

import type { Token } from "node-llama-cpp";
import { UserError } from "../core/errors.js";
import { threadBudget, type ThreadBudget } from "../core/threads.js";
import { ChatTemplate, type ChatMessage, type MediaPart } from "./chat-template.js";
import { contextSettings, createContext, flashAttentionFor, type ContextSettings } from "./context.js";
import { defaultContextSize } from "./context-size.js";
import { StreamingDetokenizer } from "./detokenizer.js";
import { checkEncoderFits, lazyEncoder, openEncoder, readMmproj, type EncoderCaps } from "./encoders.js";
import type { LazyResource } from "./lazy-resource.js";
import { MediaPolicy } from "./media-policy.js";
import { countMarkers, MEDIA_MARKER, mediaPromptText } from "./media-prompt.js";
import { imageTokens } from "../media/image.js";
import { loadModel, type LoadedModel, type LoadOptions } from "./model.js";
import type { MediaChunk, MediaItem, NativeContext, NativeMedia, PromptChunk, SamplingOptions } from "./native.js";
import { ContextOverflowError, promptItems, Sequence, type GenerateStats, type PromptItem } from "./sequence.js";
import { LLAMA_CPP_SAMPLING, modelSampling, type ModelSampling } from "./sampling-defaults.js";
import { SlotPool, type Place, type Slot } from "./slots.js";
import { SpeechModel } from "./speech.js";
import { StopStringFilter } from "./stop-strings.js";
import { ThinkingSplitter, type Piece } from "./thinking.js";

/** llama.cpp's sampling defaults; a model's general.sampling.* keys override them (Runtime.samplingDefaults). */
export const SAMPLING_DEFAULTS = LLAMA_CPP_SAMPLING;

/** Texts up to this size are tokenized to count them exactly; larger ones that cannot fit are refused unread. */
const QUICK_TOKENIZE_BYTES = 256 * 1024;

/** Open-AutoGLM's max_pixels for vLLM: a 1440x3200 screenshot keeps about 5,800 image tokens. */
export const IMAGE_MAX_PIXELS = 5_000_000;

export interface RuntimeOptions {
    model: string;
    load?: LoadOptions;
    /** Per slot: contextSize is each slot's KV cells. */
    context?: Partial<ContextSettings>;
    slots?: number;
    /** Requests that may wait for a slot. */
    queue?: number;
    mmproj?: string;
    /** The mmproj's header, read by the caller before loading (readMmproj). */
    encoderCaps?: EncoderCaps;
    maxImageTokens?: number;
    /** Largest image in pixels after scaling, as vLLM's GLM-4.1V processor sees it (max_pixels). */
    imageMaxPixels?: number;
    /** A speech model for audio when the model cannot hear (GLM-ASR and its audio mmproj), found at first use. */
    speech?: () => Promise<{ model: string; mmproj: string }>;
    /** Release the encoder and the speech model after this many idle seconds (undefined: keep). */
    idleSeconds?: number;
    onResource?: (what: "encoder" | "speech model", event: "loaded" | "released", detail?: LoadedModel) => void;
}

/** Per-call settings: a server request brings its own limits, sampling and stop strings. */
export interface TurnOptions {
    maxTokens?: number;
    sampling?: SamplingOptions;
    ignoreEog?: boolean;
    stopStrings?: string[];
    signal?: AbortSignal;
    onPiece?: (p: Piece) => void;
    /** Raw completions stream the text as it comes: no <think> split. */
    raw?: boolean;
    onSubmit?: (jobId: number) => void;
}

export interface TurnResult {
    content: string;
    reasoning: string;
    raw: string;
    stats: GenerateStats;
}

/** A user turn with images or audio clips before its text. */
export interface UserTurn {
    text: string;
    media?: MediaPart[];
}

export class Runtime {
    readonly threads: ThreadBudget;
    readonly settings: ContextSettings;
    readonly pool: SlotPool;
    readonly media: MediaPolicy;
    readonly encoder?: LazyResource<NativeMedia>;
    readonly speech?: SpeechModel;
    private readonly ctx: NativeContext;
    private readonly stopTokens: number[];
    private templateCache?: ChatTemplate;
    /** Most image tokens one image becomes (the pixel budget in the encoder's token size). */
    readonly imageMaxTokens?: number;

    /** The sampling defaults in effect: llama.cpp's, overridden by the model's general.sampling.* keys. */
    readonly samplingDefaults: ModelSampling;

    /** How the context size was chosen (for the start-up line). */
    contextNote = "--ctx-size";

    static async open(o: RuntimeOptions): Promise<Runtime> {
        contextSettings({ ...o.context, sequences: o.slots ?? 1 }); // the flags are checked before the model loads
        // The mmproj is checked before anything loads; its fit to the model once the model is known.
        const encoderCaps = o.encoderCaps ?? (o.mmproj ? await readMmproj(o.mmproj) : undefined);
        const loaded = await loadModel(o.model, o.load);
        let rt: Runtime;
        try {
            if (o.mmproj && encoderCaps) checkEncoderFits(encoderCaps, loaded, o.mmproj);
            const chosen = o.context?.contextSize === undefined ? await defaultContextSize(loaded, o.slots ?? 1) : undefined;
            const settings = contextSettings({
                ...o.context,
                contextSize: chosen?.size ?? o.context?.contextSize,
                sequences: o.slots ?? 1,
            });
            settings.flashAttention = flashAttentionFor(loaded.backend, settings.flashAttention, loaded.devices); // the text model's; the encoder keeps the mode asked for
            rt = new Runtime(loaded, settings, { ...o, encoderCaps });
            if (chosen) rt.contextNote = chosen.why;
        } catch (e) {
            await loaded.dispose();
            throw e;
        }
        // Interrupted while the context was made: nothing of it is kept.
        if (o.load?.signal?.aborted) {
            await rt.dispose();
            o.load.signal.throwIfAborted();
        }
        return rt;
    }

    private constructor(
        readonly loaded: LoadedModel,
        settings: ContextSettings,
        o: RuntimeOptions,
    ) {
        this.settings = settings;
        this.samplingDefaults = modelSampling(loaded.metadata);
        this.threads = threadBudget(settings.threads, settings.threadsBatch);
        this.ctx = createContext(loaded, settings);
        const slots = Array.from({ length: settings.sequences }, (_, id) => ({
            id,
            sequence: new Sequence(this.ctx, id, settings.sequences > 1),
            busy: false,
        }));
        this.pool = new SlotPool(slots, o.queue ?? 64);
        // GLM ends a turn on <|observation|> too (a tool call): not always in llama.cpp's end-of-generation set.
        this.stopTokens = ["<|observation|>"]
            .map((t) => loaded.model.tokenize(t, true))
            .filter((t) => t.length === 1)
            .map((t) => t[0] as number);
        const unit = o.encoderCaps?.imageTokenPixels ?? 0;
        // libmtmd's own cap (GLM-4.1V: 4,096 tokens) is raised to what the pixel budget allows, so
        // the model sees the image tokens vLLM would give it; --max-image-tokens lowers both.
        const maxImageTokens =
            unit > 0
                ? Math.min(o.maxImageTokens ?? Infinity, Math.floor((o.imageMaxPixels ?? IMAGE_MAX_PIXELS) / (unit * unit)))
                : o.maxImageTokens;
        this.imageMaxTokens = maxImageTokens;
        if (o.mmproj) {
            const mmproj = o.mmproj;
            this.encoder = lazyEncoder(
                () => openEncoder(loaded, mmproj, this.threads, o.context?.flashAttention ?? "auto", undefined, maxImageTokens),
                {
                    idleSeconds: o.idleSeconds,
                    onChange: (e) => o.onResource?.("encoder", e),
                },
            );
        }
        if (o.speech && !o.encoderCaps?.audio) {
            this.speech = new SpeechModel(
                o.speech,
                { load: { ...o.load, signal: undefined }, context: { ...o.context, contextSize: undefined } },
                o.idleSeconds,
                (e, m) => o.onResource?.("speech model", e, m),
            );
        }
        const speech = this.speech;
        this.media = new MediaPolicy({
            caps: o.encoderCaps,
            maxImageTokens,
            maxPixels: o.imageMaxPixels ?? IMAGE_MAX_PIXELS,
            transcribe: speech ? (samples, signal) => speech.transcribe(samples, signal) : undefined,
        });
    }

    /** The GGUF's chat template (tokenizer.chat_template), parsed once. */
    get template(): ChatTemplate {
        if (this.templateCache) return this.templateCache;
        const source = this.loaded.model.fileInfo.metadata.tokenizer?.chat_template;
        if (typeof source !== "string" || !source)
            throw new UserError(`${this.loaded.path} has no chat template (tokenizer.chat_template)`);
        this.templateCache = new ChatTemplate(source);
        return this.templateCache;
    }

    /** KV cells each slot holds. */
    get slotCells(): number {
        return this.ctx.sequenceSize();
    }

    /** The sampler for the fields a caller gave, the defaults for the rest. */
    sampling(given: SamplingOptions = {}): SamplingOptions {
        const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined && v !== null));
        return { ...this.samplingDefaults.defaults, seed: Math.floor(Math.random() * 2 ** 31), ...set };
    }

    /** The prompt text `messages` render to, media as libmtmd markers. */
    render(messages: ChatMessage[], enableThinking?: boolean): string {
        // The prompt holds every message's text: messages that cannot fit are refused before the
        // template renders them (its output is capped, which would misname the fault).
        this.requireTokenizable(
            messages
                .map((m) => (typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join("")))
                .join(""),
        );
        return mediaPromptText(this.template, messages, { enableThinking });
    }

    tokenize(text: string): number[] {
        return this.loaded.model.tokenize(text, true) as number[];
    }

    private longestTokenBytes?: number;
    /**
     * Refuses, without tokenizing it, a text that cannot fit a slot whatever its tokens: no token
     * is longer than the vocabulary's longest piece, so a text of more bytes than the slot's cells
     * times that length overflows. Tokenizing runs on the event loop (a 3 MB text: seconds), so a
     * 30 MB body would otherwise stop the server to learn it does not fit.
     */
    requireTokenizable(text: string): void {
        const tokens = this.loaded.model.fileInfo.metadata.tokenizer?.ggml?.tokens as readonly string[] | undefined;
        this.longestTokenBytes ??= (tokens ?? []).reduce((m, t) => Math.max(m, Buffer.byteLength(t)), 1);
        const bytes = Buffer.byteLength(text);
        // Below QUICK_TOKENIZE_BYTES the text is tokenized instead (well under a second), so the error gives its exact count.
        if (bytes > QUICK_TOKENIZE_BYTES && bytes > this.slotCells * this.longestTokenBytes)
            throw new ContextOverflowError(Math.ceil(bytes / this.longestTokenBytes), this.slotCells, this.pool.slots.length > 1, true);
    }

    /**
     * Refuses a prompt that cannot fit a slot before any work (a server answers 400 at once, not an
     * error after encoding a screenshot): its text tokens plus each image's tokens and its two
     * begin/end markers. Audio is counted when it is evaluated.
     */
    requireFits(text: string, media: readonly MediaPart[]): void {
        this.requireTokenizable(text);
        const unit = this.media.imageTokenPixels;
        const images = media.reduce(
            (n, p) =>
                n + (p.type === "image" && p.item && "width" in p.item && unit ? imageTokens(p.item.width, p.item.height, unit) + 2 : 0),
            0,
        );
        const cells = this.tokenize(text.split(MEDIA_MARKER).join("")).length + images;
        if (cells > this.slotCells) throw new ContextOverflowError(cells, this.slotCells, this.pool.slots.length > 1);
    }

    acquire(text: string, signal?: AbortSignal, place?: Place): Promise<Slot> {
        return this.pool.acquire(text, signal, place);
    }
    release(slot: Slot): void {
        this.pool.release(slot);
    }

    /**
     * Answers the prompt `text` (rendered, with one marker per media part, in order) on `slot`:
     * what the slot's record already holds is reused, the rest is tokenized and evaluated.
     */
    async respond(slot: Slot, text: string, media: readonly MediaPart[], opts: TurnOptions): Promise<TurnResult> {
        const seq = slot.sequence;
        if (countMarkers(text) !== media.length)
            throw new UserError(`the text contains ${MEDIA_MARKER}, which marks where images and audio go; remove it`);
        let { items, suffix } = seq.continuation(text);
        // The same text can carry other pixels: the record's media must be the request's, by content id.
        const held = items.filter((i): i is MediaChunk => typeof i !== "number");
        if (held.some((m, k) => !m.id || m.id !== media[k]?.item?.id)) ({ items, suffix } = { items: [], suffix: text });
        const fresh = media.slice(media.length - countMarkers(suffix));
        const run = async (prompt: PromptItem[]) => {
            const g = await this.generate(seq, prompt, opts);
            // The record stands for a text only when the cache holds that prompt and answer: not after a
            // stop string (tokens past the text kept) nor a cancel before the prompt was in.
            seq.remember(g.stopped || !g.result.stats.promptComplete ? undefined : text + g.result.raw);
            return g.result;
        };
        if (fresh.length === 0) return run([...items, ...this.tokenize(suffix)]);
        if (!this.encoder)
            throw new UserError(
                fresh.some((p) => p.type === "image")
                    ? "this model has no vision encoder: start it with --mmproj (the model's vision encoder)"
                    : "this model has no audio encoder",
            );
        // Generation runs inside the encoder's use: it is not released while its chunks are evaluated.
        return this.encoder.use((encoder) => {
            const data = fresh.map((p): MediaItem => {
                if (!p.item) throw new UserError(`the ${p.type} has no data`);
                return p.item;
            });
            let chunks: PromptChunk[];
            try {
                chunks = encoder.tokenize(suffix, data);
            } catch (e) {
                if ((e as { kind?: string }).kind === "user") throw new UserError((e as Error).message);
                throw e;
            }
            return run([...items, ...promptItems(chunks)]);
        });
    }

    /** Continues `text` as it is on `slot`: no chat template, no thinking split (the completions endpoint). */
    async complete(slot: Slot, text: string, opts: TurnOptions): Promise<TurnResult> {
        if (text.length === 0) throw new UserError("the prompt is empty");
        this.requireTokenizable(text);
        slot.sequence.remember(undefined);
        return (await this.generate(slot.sequence, this.tokenize(text), { ...opts, raw: true })).result;
    }

    /** One user turn in a fresh conversation on a free slot (describe, transcribe-and-answer, the speech model). */
    async oneShot(turn: UserTurn, opts: TurnOptions & { enableThinking?: boolean }): Promise<TurnResult> {
        const media = turn.media ?? [];
        const messages: ChatMessage[] = [
            { role: "user", content: media.length ? [...media, { type: "text", text: turn.text }] : turn.text },
        ];
        const text = this.render(messages, opts.enableThinking);
        const slot = await this.acquire(text, opts.signal);
        try {
            return await this.respond(slot, text, media, opts);
        } finally {
            this.release(slot);
        }
    }

    /** The one place a prompt becomes an answer: streaming detokenization, stop strings, the <think> split. */
    private async generate(seq: Sequence, prompt: PromptItem[], o: TurnOptions): Promise<{ stopped: boolean; result: TurnResult }> {
        const detok = new StreamingDetokenizer(this.loaded.model);
        const stops = new StopStringFilter(o.stopStrings ?? []);
        const splitter = o.raw ? undefined : new ThinkingSplitter();
        const pieces: Piece[] = [];
        let shown = "";
        const emit = (ps: Piece[]) => {
            for (const p of ps) {
                pieces.push(p);
                o.onPiece?.(p);
            }
        };
        const take = (text: string) => {
            shown += text;
            emit(splitter ? splitter.push(text) : text ? [{ kind: "content", text }] : []);
        };
        // A stop string cancels the job; the caller's signal does too.
        const stopper = new AbortController();
        const onAbort = () => stopper.abort();
        o.signal?.addEventListener("abort", onAbort, { once: true });
        if (o.signal?.aborted) stopper.abort();
        let stats: GenerateStats;
        try {
            stats = await seq.generate(prompt, {
                maxTokens: o.maxTokens ?? 2 ** 31 - 1,
                sampling: o.sampling ?? this.sampling(),
                ignoreEog: o.ignoreEog,
                stopTokens: this.stopTokens,
                signal: stopper.signal,
                onSubmit: o.onSubmit,
                onToken: (t) => {
                    take(stops.push(detok.push(t)));
                    if (stops.stopped) stopper.abort();
                },
            });
        } finally {
            o.signal?.removeEventListener("abort", onAbort);
        }
        take(stops.push(detok.flush()));
        take(stops.flush());
        if (splitter) emit(splitter.flush());
        if (stops.stopped) stats = { ...stats, reason: "stop" };
        const raw = stops.stopped ? shown : this.loaded.model.detokenize(Array.from(stats.tokens) as Token[]);
        const join = (kind: Piece["kind"]) =>
            pieces
                .filter((p) => p.kind === kind)
                .map((p) => p.text)
                .join("");
        return { stopped: stops.stopped, result: { content: join("content").trim(), reasoning: join("reasoning").trim(), raw, stats } };
    }

    /** Fails waiting requests, frees the context, the encoder, the speech model and the weights. */
    async dispose(): Promise<void> {
        this.pool.drain(new UserError("the runtime is shutting down"));
        this.ctx.dispose();
        await this.encoder?.release();
        await this.speech?.dispose();
        await this.loaded.dispose();
    }
}
