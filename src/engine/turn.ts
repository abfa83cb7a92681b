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
}

/** The sampler fields a caller sets; every field left out takes the model's default (general.sampling.*, then llama.cpp's). */
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
}

/** What happened to one media item of the request, in order. */
export type MediaReport =
    | { kind: "image"; width: number; height: number; tokens: number; source: { width: number; height: number } }
    | { kind: "audio"; seconds: number; transcript?: string };

export type TurnEvent =
    /** Every slot is busy: the turn waits in the queue. */
    | { type: "queued" }
    /** A media item was decoded (and scaled, or transcribed). */
    | { type: "media"; index: number; report: MediaReport }
    /** The prompt is being evaluated: `cached` of its `total` cells were already in the KV cache. */
    | { type: "prompt"; cached: number; total: number }
    | { type: "text"; text: string }
    | { type: "reasoning"; text: string };

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

export interface TurnResult {
    /** The answer without its thinking (splitThinking) or the model's raw text. */
    content: string;
    reasoning: string;
    /** Everything the model generated, as text (thinking tags included). */
    raw: string;
    finish: FinishReason;
    /** True when the answer was cut because the context is full, not by maxTokens. */
    contextFull: boolean;
    usage: TurnUsage;
    timings: TurnTimings;
    media: MediaReport[];
}

/** A conversation's hold on an engine: a local runtime pins one slot to it; a remote engine keeps nothing. */
export interface TurnSession {
    /** Forget what the conversation's cache holds (the next turn evaluates everything). */
    reset(): void;
    /** Give the slot back. */
    close(): void;
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
    /** A conversation that keeps its cache between turns (a local runtime holds one slot for it until close). */
    openSession(): Promise<TurnSession>;
    dispose(): Promise<void>;
}
