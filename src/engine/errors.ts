// How a turn is refused or stopped, one class per kind, each with the OpenAI-style code a server
// answers with (src/server/errors.ts maps the classes to HTTP statuses); the CLI prints the message
// as one line. Every engine (the local Runtime, a remote one) throws these, so front ends decide once.

import { InternalError, UserError } from "../core/errors.js";
import type { NativeJobError } from "./native.js";

/** A refusal of the request as it is: the caller's to fix (HTTP 400 unless its class says otherwise). */
export class TurnRefusal extends UserError {
    constructor(
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

/** The request's shape: messages and prompt, roles, media outside user messages. */
export class InvalidRequestError extends TurnRefusal {
    constructor(message: string, code: "invalid_request" | "invalid_media_role" = "invalid_request") {
        super(code, message);
    }
}

/** A kind of media this model cannot take (no vision encoder; nothing that hears or transcribes). */
export class UnsupportedMediaError extends TurnRefusal {
    constructor(readonly kind: "image" | "audio") {
        super(
            kind === "image" ? "vision_unsupported" : "audio_unsupported",
            kind === "image"
                ? "this model has no vision encoder: start it with --mmproj (the model's vision encoder)"
                : "this model cannot hear audio: start it with --asr-model and --asr-mmproj (a speech model), or an --mmproj with an audio encoder",
        );
    }
}

/** More images or clips in one request than the media policy takes. */
export class TooManyMediaError extends TurnRefusal {
    constructor(message: string) {
        super("too_many_media", message);
    }
}

/** A media item's bytes or header are refused: `kind` "media" when found while checking all headers together. */
export class InvalidMediaError extends TurnRefusal {
    constructor(
        readonly kind: "image" | "audio" | "media",
        message: string,
    ) {
        super(`invalid_${kind}`, message);
    }
}

/** A GBNF grammar that does not parse or names tokens outside the vocabulary; or a JSON schema (response_format, a tool's) that cannot become one. */
export class GrammarError extends TurnRefusal {
    constructor(
        readonly source: "grammar" | "response_format" | "tools",
        message: string,
    ) {
        super(source === "grammar" ? "invalid_grammar" : source === "tools" ? "invalid_tools" : "invalid_response_format", message);
    }
}

/** The prompt does not fit the context: found before any work. */
export class ContextOverflowError extends TurnRefusal {
    /** atLeast: promptTokens is a lower bound (the text was too long to be worth tokenizing). */
    constructor(
        readonly promptTokens: number,
        readonly contextTokens: number,
        perSlot: boolean,
        atLeast = false,
    ) {
        super(
            "context_length_exceeded",
            `the prompt needs ${atLeast ? "at least " : ""}${promptTokens} tokens (image and audio tokens included) but the context holds ${contextTokens}${perSlot ? " per slot" : ""}; start with a larger --ctx-size`,
        );
    }
}

/** All slots are busy and the queue is full (HTTP 503). */
export class QueueFullError extends TurnRefusal {
    constructor(message: string) {
        super("queue_full", message);
    }
}

/** The caller cancelled the turn before it produced an answer: while queued, reading media or transcribing (HTTP 499). */
export class CancelledError extends TurnRefusal {
    constructor(message = "the request was cancelled") {
        super("client_closed", message);
    }
}

/** The engine is shutting down: waiting turns fail with it, running ones are cut (HTTP 503). */
export class ShuttingDownError extends TurnRefusal {
    constructor(message = "the engine is shutting down") {
        super("shutting_down", message);
    }
}

/** Throws CancelledError when `signal` was aborted: the check between a turn's stages. */
export function throwIfCancelled(signal: AbortSignal | undefined, message?: string): void {
    if (signal?.aborted) throw new CancelledError(message);
}

/** A native call's failure as the right kind of error: the addon says whose fault it is (`kind`). */
export function nativeError(e: unknown): Error {
    const err = e as Partial<NativeJobError>;
    if (err?.kind === "user") return new UserError(err.message ?? String(e));
    return new InternalError(err?.message ?? String(e));
}
