// The local engine: one model, one context of N sequences (slots) with their cache records, the
// lazily loaded encoder, one thread budget, the chat template, the media policy and the sampling
// defaults; a speech model, when the model cannot hear, is composed outside it and handed in as the
// media policy's transcriber. Runtime.turn is the one owner of a turn's order (src/engine/turn.ts):
// check the request -> admit media kinds and counts -> a place in the queue -> read media -> check
// every header -> decode in order -> the tools' plan (src/engine/tools/) -> sampling and grammar ->
// render once -> check the fit -> a slot -> evaluate and generate (n choices: src/engine/choices.ts)
// -> release. Every front end (serve's routes, chat, describe,
// transcribe-and-answer, bench's phone step, the agent) calls it; `bench` also measures a slot directly.

import { InternalError, UserError } from "../core/errors.js";
import { threadBudget, type ContextThreads } from "../core/threads.js";
import { imageTokens } from "../media/image.js";
import type { AnswerOptions } from "./answer.js";
import { ChatTemplate, type ChatMessage, type MediaPart } from "./chat-template.js";
import { answerChoices, type ChoiceLanes } from "./choices.js";
import { contextSettings, createContext, flashAttentionFor, type ContextSettings } from "./context.js";
import { defaultContextSize } from "./context-size.js";
import { checkEncoderFits, lazyEncoder, openEncoder, readMmproj, type EncoderCaps } from "./encoders.js";
import { ContextOverflowError, InvalidRequestError, nativeError, ShuttingDownError } from "./errors.js";
import { grammarFor } from "./grammar.js";
import type { LazyResource } from "./lazy-resource.js";
import { IMAGE_MAX_PIXELS, MediaPolicy, type Transcriber } from "./media-policy.js";
import { countMarkers, MEDIA_MARKER, mediaPromptText } from "./media-prompt.js";
import { mediaParts, stage, TurnMediaStage } from "./turn-media.js";
import { loadModel, type LoadedModel, type LoadOptions } from "./model.js";
import type { MediaChunk, MediaItem, NativeContext, NativeMedia, PromptChunk, SamplingOptions } from "./native.js";
import { promptItems, Sequence, type PromptItem } from "./sequence.js";
import { modelSampling, type ModelSampling } from "./sampling-defaults.js";
import { LocalSession } from "./session.js";
import { SlotPool, type Place, type Slot } from "./slots.js";
import { TextTokens } from "./text-tokens.js";
import { planTools } from "./tools/tool-plan.js";
import type { Engine, EngineInfo, MediaReport, TurnEvent, TurnMessage, TurnRequest, TurnResult, TurnSession } from "./turn.js";
import { checkOutputs, samplerFields } from "./turn-outputs.js";

/** All the text of some messages (what a prompt holds besides the template's own). */
const textOf = (messages: readonly (ChatMessage | TurnMessage)[]) =>
    messages
        .map((m) => (typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join("")))
        .join("");

/** Texts up to this size are tokenized to count them exactly; larger ones that cannot fit are refused unread. */
const QUICK_TOKENIZE_BYTES = 256 * 1024;

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
    /** Transcribes audio when the model cannot hear (a SpeechModel, composed by the caller); the runtime disposes it. */
    speech?: Transcriber;
    /** Release the encoder after this many idle seconds (undefined: keep). */
    idleSeconds?: number;
    onResource?: (what: "encoder", event: "loaded" | "released") => void;
}

/** What a server's /metrics shows of the runtime now. */
export interface RuntimeGauges {
    busySlots: number;
    slots: number;
    queued: number;
    speechModelsOpened: number;
    mediaDecoding: number;
}

export class Runtime implements Engine {
    readonly threads: ContextThreads;
    readonly settings: ContextSettings;
    readonly pool: SlotPool;
    readonly media: MediaPolicy;
    readonly encoder?: LazyResource<NativeMedia>;
    private readonly speech?: Transcriber;
    private readonly ctx: NativeContext;
    private readonly stopTokens: number[];
    /** Message text stays text: only the template's markup becomes control tokens (src/engine/text-tokens.ts). */
    readonly textTokens: TextTokens;
    private templateCache?: ChatTemplate;
    /** Slots lent to a turn's extra choices, by their sequence. */
    private readonly extraSlots = new Map<Sequence, Slot>();
    private disposed = false;
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
        this.threads = threadBudget.forContext(settings.threads, settings.threadsBatch);
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
        this.textTokens = TextTokens.of(
            loaded.model,
            (loaded.model.fileInfo.metadata.tokenizer?.ggml?.tokens as string[] | undefined) ?? [],
        );
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
        // A model that hears itself never needs the speech model.
        this.speech = o.encoderCaps?.audio ? undefined : o.speech;
        this.media = new MediaPolicy({
            caps: o.encoderCaps,
            maxImageTokens,
            maxPixels: o.imageMaxPixels ?? IMAGE_MAX_PIXELS,
            transcriber: this.speech,
        });
    }

    get info(): EngineInfo {
        return {
            model: this.loaded.path,
            vision: this.media.sees,
            audio: this.media.hears,
            contextTokens: this.slotCells,
            where: "local",
        };
    }

    /** What a server's /metrics shows now. */
    gauges(): RuntimeGauges {
        return {
            busySlots: this.pool.busy,
            slots: this.pool.slots.length,
            queued: this.pool.queued,
            speechModelsOpened: this.speech?.opened ?? 0,
            mediaDecoding: this.media.decoding,
        };
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

    /**
     * The prompt text `messages` render to, media as libmtmd markers, control-token strings in message
     * text broken (`tools`: the template's tools variable).
     */
    render(messages: ChatMessage[], enableThinking?: boolean, tools?: object[], addGenerationPrompt = true): string {
        // The prompt holds every message's text: messages that cannot fit are refused before the
        // template renders them (its output is capped, which would misname the fault).
        this.requireTokenizable(textOf(messages));
        return mediaPromptText(this.template, messages, {
            enableThinking,
            tools,
            asText: (t) => this.textTokens.asText(t),
            addGenerationPrompt,
        });
    }

    /** The tokens of a prompt `render` gave (no media): the template's markup as control tokens, message text as text. */
    tokenize(text: string): number[] {
        return this.textTokens.tokenize(text);
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

    /** A conversation pinned to one slot until close (waits for one when all are busy, as a turn does). */
    async openSession(signal?: AbortSignal): Promise<LocalSession> {
        if (this.disposed) throw new ShuttingDownError();
        const slot = await this.pool.acquire("", signal);
        return new LocalSession(
            this,
            slot,
            (s) => this.pool.release(s),
            (session, messages, o) => this.prefill(session, messages, o),
        );
    }

    /**
     * TurnSession.prefill: the conversation rendered without a generation prompt, evaluated on the
     * session's slot (the cached prefix reused) with nothing generated, and recorded, so that the
     * next turn's prompt, which extends it, tokenizes and evaluates only the rest.
     */
    private async prefill(
        session: LocalSession,
        messages: TurnMessage[],
        o: { enableThinking?: boolean; signal?: AbortSignal } = {},
    ): Promise<number> {
        if (this.disposed) throw new ShuttingDownError();
        if (messages.some((m) => typeof m.content !== "string" && m.content.some((p) => p.type !== "text")))
            throw new InvalidRequestError("a prefill takes text-only messages");
        // Rendered as a turn renders its messages (the same conversion and tool rendering), so that turn's prompt extends it.
        const media = new TurnMediaStage(messages, this.media, session.decoded);
        media.admit();
        await media.decode(() => {}, o.signal);
        const planned = await planTools(this.template, this.loaded.llama, media.messages(), undefined);
        const text = this.render(planned.rendered.messages, o.enableThinking, planned.rendered.tools, false);
        this.requireFits(text, []);
        const seq = session.slot.sequence;
        const { items, suffix } = seq.continuation(text);
        const prompt = [...items, ...this.tokenize(suffix)];
        if (prompt.length === 0) return 0;
        const r = await seq.generate(prompt, { maxTokens: 0, signal: o.signal });
        if (r.promptComplete) seq.remember(text);
        return r.evaluatedTokens;
    }

    /** One turn, in the order the file's header gives; events stream in order, then the result. */
    async turn(request: TurnRequest, onEvent?: (event: TurnEvent) => void): Promise<TurnResult> {
        const emit = onEvent ?? (() => {});
        if (this.disposed) throw new ShuttingDownError();
        if ((request.messages === undefined) === (request.prompt === undefined))
            throw new InvalidRequestError("a turn takes messages or a prompt: exactly one of them");
        if (request.messages?.length === 0) throw new InvalidRequestError("a turn needs at least one message");
        if (request.tools && request.prompt !== undefined)
            throw new InvalidRequestError("tools take a chat turn (messages), not a raw prompt");
        checkOutputs(request);
        const session = request.session && this.own(request.session);
        const run = () =>
            request.prompt !== undefined
                ? this.completionTurn(request, request.prompt, emit, session)
                : this.chatTurn(request, request.messages!, emit, session);
        return session ? session.run(run) : run();
    }

    private own(session: TurnSession): LocalSession {
        if (!(session instanceof LocalSession) || session.owner !== this)
            throw new InternalError("a session is used only with the engine that opened it");
        return session;
    }

    private async chatTurn(
        req: TurnRequest,
        messages: TurnMessage[],
        emit: (e: TurnEvent) => void,
        session?: LocalSession,
    ): Promise<TurnResult> {
        const signal = req.signal;
        // A text longer than any tokens could fit is refused before anything is read (render checks again).
        this.requireTokenizable(textOf(messages));
        const media = new TurnMediaStage(messages, this.media, session?.decoded);
        media.admit();
        // Its place in the slot queue first (or a QueueFullError): a turn that is refused reads nothing.
        const place = session ? undefined : this.pool.reserve(req.client);
        try {
            await media.decode(emit, signal);
            const chat = media.messages();
            const tools = await stage(signal, () => planTools(this.template, this.loaded.llama, chat, req.tools));
            if (tools.grammar && req.grammar)
                throw new InvalidRequestError("a grammar or response_format cannot be combined with a required or named tool_choice");
            const sampling = await stage(signal, () => this.samplingFor(req, tools.grammar));
            const text = this.render(tools.rendered.messages, req.enableThinking, tools.rendered.tools); // once per turn
            const parts = mediaParts(chat);
            this.requireFits(text, parts);
            // With tools the thinking is always kept apart from the calls (the front end decides whether to show it).
            const opts = this.answerOptions(req, sampling, tools.parser ? true : (req.splitThinking ?? true), emit);
            opts.tools = tools.parser;
            return await this.onSlot(text, place, emit, signal, session, (slot) =>
                this.evaluate(slot, text, parts, opts, media.reports(), req.n ?? 1, session),
            );
        } finally {
            place?.release();
        }
    }

    /** Raw text continued as it is (the completions endpoint): no template, no thinking split, no media. */
    private async completionTurn(
        req: TurnRequest,
        prompt: string,
        emit: (e: TurnEvent) => void,
        session?: LocalSession,
    ): Promise<TurnResult> {
        if (prompt.length === 0) throw new InvalidRequestError("the prompt is empty");
        this.requireTokenizable(prompt);
        const place = session ? undefined : this.pool.reserve(req.client);
        try {
            const opts = this.answerOptions(req, await stage(req.signal, () => this.samplingFor(req)), false, emit);
            return await this.onSlot(prompt, place, emit, req.signal, session, async (slot) => {
                slot.sequence.remember(undefined);
                return answerChoices(
                    this.loaded.model,
                    slot.sequence,
                    this.textTokens.rawPrompt(prompt),
                    undefined,
                    opts,
                    [],
                    req.n ?? 1,
                    this.lanes(session, slot.client),
                );
            });
        } finally {
            place?.release();
        }
    }

    /** The request's sampler fields over the defaults, and its grammar as GBNF (checked; `toolGrammar` forces tool calls). */
    private async samplingFor(req: TurnRequest, toolGrammar?: string): Promise<SamplingOptions> {
        const fields = samplerFields(req.sampling, this.loaded.vocabSize);
        const grammar = toolGrammar ?? (await grammarFor(this.loaded.llama, this.loaded.vocabSize, req.grammar));
        return this.sampling({ ...fields, grammar });
    }

    /**
     * Where a turn's extra choices run: slots idle now, lent to the turn's client within its per-client
     * share (SlotPool.takeIdle); a session keeps to its own slot.
     */
    private lanes(session: LocalSession | undefined, client: string | undefined): ChoiceLanes {
        return {
            take: (count) => {
                if (session) return [];
                return this.pool.takeIdle(count, client).map((slot) => {
                    this.extraSlots.set(slot.sequence, slot);
                    return slot.sequence;
                });
            },
            give: (seqs) => {
                for (const q of seqs) {
                    const slot = this.extraSlots.get(q);
                    this.extraSlots.delete(q);
                    if (slot) this.pool.release(slot);
                }
            },
        };
    }

    private answerOptions(req: TurnRequest, sampling: SamplingOptions, split: boolean, emit: (e: TurnEvent) => void): AnswerOptions {
        return {
            sampling,
            maxTokens: req.maxTokens,
            stop: req.stop?.filter((s) => s.length > 0),
            ignoreEos: req.ignoreEos,
            stopTokens: this.stopTokens,
            split,
            signal: req.signal,
            emit,
            logprobs: req.logprobs,
        };
    }

    /** Runs `job` on the session's slot, or on the slot whose record shares most with `text` (waiting for one), then releases it. */
    private async onSlot(
        text: string,
        place: Place | undefined,
        emit: (e: TurnEvent) => void,
        signal: AbortSignal | undefined,
        session: LocalSession | undefined,
        job: (slot: Slot) => Promise<TurnResult>,
    ): Promise<TurnResult> {
        if (session) return job(session.slot);
        const slot = await this.pool.acquire(text, signal, place, () => emit({ type: "queued" }));
        try {
            return await job(slot);
        } finally {
            this.pool.release(slot);
        }
    }

    /**
     * Answers the prompt `text` (rendered, with one marker per media part, in order) on `slot`:
     * what the slot's record already holds is reused, the rest is tokenized and evaluated.
     */
    private async evaluate(
        slot: Slot,
        text: string,
        media: readonly MediaPart[],
        opts: AnswerOptions,
        reports: MediaReport[],
        n: number,
        session: LocalSession | undefined,
    ): Promise<TurnResult> {
        const seq = slot.sequence;
        if (countMarkers(text) !== media.length)
            throw new InvalidRequestError(`the text contains ${MEDIA_MARKER}, which marks where images and audio go; remove it`);
        let { items, suffix } = seq.continuation(text);
        // The same text can carry other pixels: the record's media must be the request's, by content id.
        const held = items.filter((i): i is MediaChunk => typeof i !== "number");
        if (held.some((m, k) => !m.id || m.id !== media[k]?.item?.id)) ({ items, suffix } = { items: [], suffix: text });
        const fresh = media.slice(media.length - countMarkers(suffix));
        const run = (prompt: PromptItem[]) =>
            answerChoices(this.loaded.model, seq, prompt, text, opts, reports, n, this.lanes(session, slot.client));
        if (fresh.length === 0) return run([...items, ...this.tokenize(suffix)]);
        if (!this.encoder) throw new InternalError("media passed the media policy without an encoder to read them");
        // Generation runs inside the encoder's use: it is not released while its chunks are evaluated.
        return this.encoder.use((encoder) => {
            const data = fresh.map((p): MediaItem => {
                if (!p.item) throw new InternalError(`the ${p.type} has no data`);
                return p.item;
            });
            let chunks: PromptChunk[];
            try {
                chunks = encoder.tokenizeParts(this.textTokens.mediaParts(suffix, data));
            } catch (e) {
                throw nativeError(e);
            }
            return run([...items, ...promptItems(chunks)]);
        });
    }

    /** Fails waiting requests, frees the context, the encoder, the speech model and the weights. */
    async dispose(): Promise<void> {
        this.disposed = true;
        this.pool.drain(new ShuttingDownError("the runtime is shutting down"));
        this.ctx.dispose();
        await this.encoder?.release();
        await this.speech?.dispose();
        await this.loaded.dispose();
    }
}
