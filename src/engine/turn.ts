// The contract every front end talks to: one chat turn, from messages (with media not yet read) to a
// streamed answer. A local Runtime implements it over the native scheduler; a remote engine
// (autoglm serve, llama-server, vLLM, SGLang) implements it over OpenAI's HTTP API. The server's
// routes, `chat`, `describe`, `transcribe-and-answer`, `bench` and `agent` call nothing else to
// answer a turn, so the order of a turn (admit media, take a place in the queue, read and decode
// media, render the template, check the fit, take a slot, sample, stream) is written once per engine.

import type { SamplingOptions } from "./native.js";

export type Role = "system" | "user" | "assistant" | "observation";

/**
 * Where a media item's bytes come from. They are read only once the turn holds its place in the
 * queue, so a turn that is refused (a full queue, a model that cannot see) reads nothing.
 */
export type MediaSource =
    /** A local file (the CLI's own arguments: the user's files). */
    | { path: string }
    /** Bytes already in memory (a decoded data: URL, a screenshot taken by the agent). */
    | { bytes: Buffer }
    /** Fetched when needed (a server's remote or local media, under its own policy); honour the signal. */
    | { load: (signal: AbortSignal) => Promise<Buffer> };

export type TurnPart = { type: "text"; text: string } | { type: "image"; source: MediaSource } | { type: "audio"; source: MediaSource };

export interface TurnMessage {
    role: Role;
    content: string | TurnPart[];
    /** An assistant turn's tool calls (its content may then be empty). */
    toolCalls?: ToolCall[];
    /** An observation turn: the call it answers, and the function's name where the client gave it. */
    toolCallId?: string;
    name?: string;
}

/** A function the model may call (OpenAI's function tool). */
export interface ToolDefinition {
    name: string;
    description?: string;
    /** JSON schema of the arguments object (absent: no arguments). */
    parameters?: object;
}

/** A call the model made, its arguments as JSON text. */
export interface ToolCall {
    id: string;
    name: string;
    arguments: string;
}

export interface ToolsRequest {
    tools: ToolDefinition[];
    /**
     * auto (default): the model answers or calls; none: it answers in text; required: at least one
     * call; {name}: a call of that function. required and {name} constrain decoding to the calls'
     * format (a grammar built from the tools' schemas), so the answer always parses as calls.
     */
    choice?: "auto" | "none" | "required" | { name: string };
    /** Several calls in one answer (default true). */
    parallel?: boolean;
}

/** A generated token's log-probability (natural log) and the most likely alternatives at its position. */
export interface TokenLogprob {
    token: number;
    /** The token's text; `bytes` when it holds part of a UTF-8 character. */
    text: string;
    bytes: number[];
    logprob: number;
    top: { token: number; text: string; bytes: number[]; logprob: number }[];
}

/**
 * The sampler fields a caller sets; every field left out takes the model's default (general.sampling.*,
 * then llama.cpp's). seed: -1 or absent is a random seed. logitBias: [token, bias] pairs added to the
 * logits, -100..100, where -100 bans the token (OpenAI's convention).
 */
export type SamplingRequest = Partial<Omit<SamplingOptions, "grammar">>;

/** A constraint on the answer's text. */
export type GrammarRequest = { gbnf: string } | { jsonSchema: object } | { json: true };

export interface TurnRequest {
    /** The conversation, in order; media only in user messages. Exactly one of messages and prompt. */
    messages?: TurnMessage[];
    /** Raw text to continue (the completions endpoint): no chat template, no thinking split. */
    prompt?: string;
    /** GLM's enable_thinking (undefined: the template's default). */
    enableThinking?: boolean;
    /** Split <think>...</think> into reasoning events (default); false: the model's raw text as text events. */
    splitThinking?: boolean;
    sampling?: SamplingRequest;
    grammar?: GrammarRequest;
    /** Longest answer in tokens (undefined: the engine's default cap). */
    maxTokens?: number;
    /** Strings that end the answer (not included in it). */
    stop?: string[];
    /** Keep generating past every end-of-generation token, up to maxTokens (benchmarks). */
    ignoreEos?: boolean;
    /** A conversation that keeps its own slot and cache (a chat, one phone of the agent); default: any slot. */
    session?: TurnSession;
    /**
     * Who the turn is for (a server names its client: an API key, else a remote address): a local
     * runtime limits and orders its slots per client and, when told to, keeps their caches apart
     * (SlotPool.reserve(client), src/engine/slots.ts). Default: one anonymous client.
     */
    client?: string;
    /** Cancels the turn at any stage: while queued, reading media, transcribing, evaluating or generating. */
    signal?: AbortSignal;
    /** Functions the model may call; their calls come back as toolCalls, not text. Chat turns only. */
    tools?: ToolsRequest;
    /** Answers to generate from one evaluation of the prompt (default 1); events carry their choice's index. */
    n?: number;
    /** Each answer token's log-probability and this many alternatives (0..20); undefined: none. */
    logprobs?: number;
}

/** What happened to one media item of the request, in order. */
export type MediaReport =
    | {
          kind: "image";
          /** The size the model saw (after scaling to the pixel / token budget) and its image tokens. */
          width: number;
          height: number;
          tokens: number;
          /** The file's own size (and, where the engine knows, the image tokens it would have been unscaled). */
          source: { width: number; height: number; tokens?: number };
          /** The file's format as decoded (png, jpeg, gif...), where the engine knows it. */
          format?: string;
      }
    | {
          kind: "audio";
          seconds: number;
          transcript?: string;
          /** The speech model's own turn, when it transcribed the clip: its prompt (the audio embeddings) and transcript tokens. */
          transcription?: { promptTokens: number; tokens: number; firstTokenMs: number };
      };

export type TurnEvent =
    /** Every slot is busy: the turn waits in the queue. */
    | { type: "queued" }
    /** The speech model starts transcribing a clip (slow on a CPU: a front end can show it, a server can start pinging). */
    | { type: "transcribing"; index: number }
    /** A media item was decoded (and scaled, or transcribed); not repeated for a session's media already decoded. */
    | { type: "media"; index: number; report: MediaReport }
    /** The prompt is being evaluated: `cached` of its `total` cells were already in the KV cache. */
    | { type: "prompt"; cached: number; total: number }
    | { type: "text"; text: string; choice?: number }
    | { type: "reasoning"; text: string; choice?: number }
    /** A tool call of the answer, once its arguments are complete; `index` counts the choice's calls. */
    | { type: "tool_call"; index: number; call: ToolCall; choice?: number }
    /** Log-probabilities of answer tokens, in order, once their text has been sent (tokens a stop string cut are never sent). */
    | { type: "logprobs"; tokens: TokenLogprob[]; choice?: number };

export type FinishReason = "stop" | "length" | "aborted";

export interface TurnUsage {
    /** Prompt cells (text tokens, image and audio embeddings), of which `cached` came from the KV cache. */
    promptTokens: number;
    cachedTokens: number;
    completionTokens: number;
}

/** Milliseconds as the engine measured them (a remote engine: as the client saw them, and what the server reported). */
export interface TurnTimings {
    /** Until the first token of the answer. */
    firstTokenMs: number;
    /** Evaluating the prompt (media embeddings included). */
    promptMs: number;
    /** The vision / audio encoders' forward passes. */
    encodeMs: number;
    /** Generating the answer after its first token. */
    decodeMs: number;
}

/** One answer of a turn. */
export interface TurnAnswer {
    /** The answer without its thinking (splitThinking) or the model's raw text; without its tool calls. */
    content: string;
    reasoning: string;
    /** Everything the model generated, as text (thinking tags and calls included). */
    raw: string;
    finish: FinishReason;
    /** The calls the answer made (absent: none); a front end reports finish "tool_calls" then. */
    toolCalls?: ToolCall[];
    logprobs?: TokenLogprob[];
    /** The answer's token ids, where the engine knows them (a local runtime). */
    tokens?: number[];
}

/** A turn of n answers has n choices; the first is also the result's own answer. */
export interface TurnChoice extends TurnAnswer {
    index: number;
}

export interface TurnResult extends TurnAnswer {
    /** True when the answer was cut because the context is full, not by maxTokens. */
    contextFull: boolean;
    usage: TurnUsage;
    timings: TurnTimings;
    media: MediaReport[];
    /** Every answer when the request asked for n > 1, in index order; usage counts them all. */
    choices?: TurnChoice[];
}

/** A conversation's hold on an engine: a local runtime pins one slot to it; a remote engine keeps nothing. */
export interface TurnSession {
    /** Forget what the conversation's cache holds (the next turn evaluates everything). */
    reset(): void;
    /** Give the slot back. */
    close(): void;
    /**
     * Evaluates a conversation the next turn will start with (text only, ending with the last answer)
     * into the session's cache now, while the caller does something else (the phone agent: during
     * the action and its wait); that turn then evaluates only what follows. Only an engine that holds
     * the cache has it (a local runtime); turns queue behind it. Resolves to the tokens evaluated.
     */
    prefill?(messages: TurnMessage[], o?: { enableThinking?: boolean; signal?: AbortSignal }): Promise<number>;
}

export interface EngineInfo {
    /** What the engine calls its model (the served name, or the GGUF's path). */
    model: string;
    vision: boolean;
    /** Accepts audio (its own encoder, or a speech model that transcribes for it). */
    audio: boolean;
    /** KV cells one conversation may use (prompt plus answer). */
    contextTokens: number;
    /** Where it runs: "local" (this process) or the remote engine's URL. */
    where: string;
}

export interface Engine {
    readonly info: EngineInfo;
    /** Runs one turn; events stream in order, then the result. Errors are UserError (the request's fault) or InternalError. */
    turn(request: TurnRequest, onEvent?: (event: TurnEvent) => void): Promise<TurnResult>;
    /**
     * Throws the one-line refusal a turn with these media would meet, before anything is read or
     * sent (a remote engine that says it takes no images or no audio); a command calls it before it
     * says what it is about to do.
     */
    checkMedia?(kinds: ReadonlyArray<"image" | "audio">): void;
    /** A conversation that keeps its cache between turns (a local runtime holds one slot for it until close). */
    openSession(): Promise<TurnSession>;
    dispose(): Promise<void>;
}
