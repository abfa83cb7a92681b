// The Engine over a remote OpenAI-compatible server (autoglm serve, llama-server, vLLM, SGLang, or a
// router in front of several): each turn is one streamed chat (or text) completion. Capabilities
// are read once when it opens, so an image for a server that cannot see is refused before anything is
// read or sent. Cancelling a turn closes its connection, which is how every one of these servers
// learns that its client went away (they stop generating and free the slot).

import { InternalError, UserError } from "../core/errors.js";
import { CancelledError } from "../engine/errors.js";
import type { Engine, EngineInfo, TurnEvent, TurnMessage, TurnRequest, TurnResult, TurnSession } from "../engine/turn.js";
import { AnswerStream, type Chunk } from "./answer-stream.js";
import { discover, takesGbnf, type Capabilities } from "./capabilities.js";
import { discard, Endpoint } from "./endpoint.js";
import { openAiMessages, requestBody } from "./request-body.js";
import { SseParser } from "./sse.js";

export interface RemoteOptions {
    /** The server's address, with or without /v1. */
    url: string;
    /** Sent as Authorization: Bearer. */
    apiKey?: string;
    /** The served model's name (default: the only one it lists). */
    model?: string;
    /** How the user gave `model`, for messages (default --model). */
    modelFlag?: string;
    /** Cancels the discovery requests. */
    signal?: AbortSignal;
}

export class RemoteEngine implements Engine {
    readonly info: EngineInfo;

    private constructor(
        private readonly endpoint: Endpoint,
        readonly capabilities: Capabilities,
    ) {
        this.info = {
            model: capabilities.model,
            // Unknown (vLLM, SGLang, a router) counts as able: the server answers for itself.
            vision: capabilities.vision ?? true,
            audio: capabilities.audio ?? true,
            contextTokens: capabilities.contextTokens ?? 0,
            where: endpoint.shown,
        };
    }

    /** Connects, reads what the server serves and takes; one line on what is wrong when it cannot. */
    static async open(o: RemoteOptions): Promise<RemoteEngine> {
        const endpoint = new Endpoint(o.url, o.apiKey);
        try {
            return new RemoteEngine(endpoint, await discover(endpoint, o.model, o.signal, o.modelFlag));
        } catch (e) {
            await endpoint.close();
            throw e;
        }
    }

    /** How messages name this engine: its address and model. */
    get name(): string {
        return `the engine at ${this.endpoint.shown} (model ${this.capabilities.model})`;
    }

    /** Media this engine is known not to take: one line naming it and what to do, before anything is read. */
    private refuseMedia(messages: TurnMessage[]): void {
        this.checkMedia(
            messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.flatMap((p) => (p.type === "text" ? [] : [p.type])))),
        );
    }

    checkMedia(media: ReadonlyArray<"image" | "audio">): void {
        const kinds = new Set(media);
        const c = this.capabilities;
        const said = c.source ? ` (its ${c.source} says so)` : "";
        if (kinds.has("image") && c.vision === false)
            throw new UserError(
                `${this.name} takes no images${said}: start it with a vision encoder (${c.server === "llamacpp" ? "llama-server --mmproj" : "autoglm serve --mmproj"}) or leave the image out`,
            );
        if (kinds.has("audio") && c.audio === false)
            throw new UserError(
                `${this.name} takes no audio${said}: start it with an audio encoder or speech model (${c.server === "llamacpp" ? "llama-server --mmproj of an audio model" : "autoglm serve --asr-model and --asr-mmproj"}), or run the command without --url (a speech model transcribes here)`,
            );
    }

    async turn(request: TurnRequest, onEvent: (event: TurnEvent) => void = () => {}): Promise<TurnResult> {
        const { signal } = request;
        if ((request.messages === undefined) === (request.prompt === undefined))
            throw new InternalError("a turn takes exactly one of messages and prompt");
        if (request.messages) this.refuseMedia(request.messages);
        if (request.grammar && "gbnf" in request.grammar && !takesGbnf(this.capabilities))
            throw new UserError(
                `${this.name} does not take a GBNF grammar (${this.capabilities.server ? `a ${this.capabilities.server} server` : "it does not say what it is"}; autoglm serve and llama-server do): leave the grammar out`,
            );
        // Cancelled before the answer began (reading media, waiting for the headers): as a local turn
        // cancelled in its queue, a CancelledError, which a chat survives.
        const cancelled = () => {
            if (signal?.aborted) throw new CancelledError();
        };
        cancelled();
        let res: Awaited<ReturnType<Endpoint["post"]>>;
        let input: { messages: Awaited<ReturnType<typeof openAiMessages>> } | { prompt: string };
        let sentAt: number;
        const path = request.messages ? "/v1/chat/completions" : "/v1/completions";
        try {
            input = request.messages ? { messages: await openAiMessages(request.messages, signal) } : { prompt: request.prompt! };
            sentAt = performance.now();
            res = await this.endpoint.post(path, requestBody(this.capabilities.model, input, request), signal);
        } catch (e) {
            cancelled();
            throw e;
        }
        const answer = new AnswerStream(sentAt, Boolean(request.messages) && request.splitThinking !== false, onEvent, this.endpoint.shown);
        const sse = new SseParser();
        // A server that streams on past max_tokens (a chunk carries one token or more) is cut off.
        const chunkLimit = request.maxTokens === undefined ? Number.POSITIVE_INFINITY : 2 * request.maxTokens + 64;
        let chunks = 0;
        let done = false;
        try {
            read: for await (const bytes of res.body) {
                for (const ev of sse.push(bytes)) {
                    if (ev.data === "[DONE]") {
                        done = true;
                        discard(res.body); // the answer is complete; a connection kept open is not waited on
                        break read;
                    }
                    if (++chunks > chunkLimit)
                        throw new UserError(
                            `${this.endpoint.shown} kept streaming past max_tokens (${request.maxTokens}): the answer was cut off`,
                        );
                    let data: unknown;
                    try {
                        data = JSON.parse(ev.data);
                    } catch {
                        throw new UserError(`${this.endpoint.shown} sent an event that is not JSON: ${ev.data.slice(0, 80)}`);
                    }
                    if (!data || typeof data !== "object")
                        throw new UserError(`${this.endpoint.shown} sent an event that is not a chunk: ${ev.data.slice(0, 80)}`);
                    answer.chunk(data as Chunk);
                }
            }
        } catch (e) {
            discard(res.body);
            if (signal?.aborted) return answer.result(true, request.maxTokens);
            if (e instanceof UserError) throw e;
            throw this.endpoint.failure(e, signal);
        }
        sse.end();
        if (signal?.aborted) return answer.result(true, request.maxTokens);
        // A stream cut short must not pass for a finished answer.
        if (!answer.finished)
            throw new UserError(
                `${this.endpoint.shown} closed the stream before the answer finished${done ? " (no finish_reason before [DONE])" : ""}`,
            );
        return answer.result(false, request.maxTokens);
    }

    /** A remote engine keeps nothing per conversation: the server's own prefix cache does that. */
    async openSession(): Promise<TurnSession> {
        return { reset() {}, close() {} };
    }

    async dispose(): Promise<void> {
        await this.endpoint.close();
    }
}
