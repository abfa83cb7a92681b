// Responses kept for previous_response_id and GET /v1/responses/{id}, in this process's memory only.
// Each entry holds what its response added to the conversation (its input and output, not its
// instructions, which OpenAI does not carry over) and the id it continued, so a chain of responses
// holds each message once. At most RESPONSE_STORE.entries responses and .bytes of their messages
// (images included, as the data: URLs they came in) are kept; the least recently used goes first,
// and reading a conversation uses every response of its chain. A response that is gone (evicted, or
// the server restarted), or whose chain lost a response, is a 404 previous_response_not_found: the
// client resends the conversation. The KV cache is not the store's: the slot whose cache still holds
// the conversation serves it (src/engine/slots.ts picks the slot sharing the longest prefix).

import type { ToolCall, TurnMessage } from "../../engine/turn.js";

export const RESPONSE_STORE = { entries: 256, bytes: 64 << 20 };

export interface StoredResponse {
    /** The response this one continued. */
    previous?: string;
    /** What this response added: its input messages and its output (as the model wrote it, calls included). */
    messages: TurnMessage[];
    /** The calls of its output, by id (a later function_call_output names its function from them). */
    calls: ToolCall[];
    /** The response object as created. */
    response: object;
    /** What `messages` hold in memory, roughly (their JSON text, images included). */
    bytes: number;
}

export class ResponseStore {
    private readonly entries = new Map<string, StoredResponse>();
    private bytes = 0;

    constructor(private readonly limits = RESPONSE_STORE) {}

    put(id: string, entry: StoredResponse): void {
        this.delete(id);
        if (entry.bytes > this.limits.bytes) return; // larger than the whole store: kept by no one
        this.entries.set(id, entry);
        this.bytes += entry.bytes;
        for (const [old, e] of this.entries) {
            if (this.entries.size <= this.limits.entries && this.bytes <= this.limits.bytes) break;
            this.entries.delete(old);
            this.bytes -= e.bytes;
        }
    }

    /** The entry, now the most recently used. */
    get(id: string): StoredResponse | undefined {
        const e = this.entries.get(id);
        if (!e) return undefined;
        this.entries.delete(id);
        this.entries.set(id, e);
        return e;
    }

    /** The whole conversation up to and including response `id`, and its calls; undefined when a response of its chain is gone. */
    conversation(id: string): { messages: TurnMessage[]; calls: ToolCall[] } | undefined {
        const chain: StoredResponse[] = [];
        const seen = new Set<string>();
        for (let at: string | undefined = id; at !== undefined; at = chain[chain.length - 1]!.previous) {
            if (seen.has(at)) return undefined;
            seen.add(at);
            const e = this.get(at);
            if (!e) return undefined;
            chain.push(e);
        }
        chain.reverse();
        return { messages: chain.flatMap((e) => e.messages), calls: chain.flatMap((e) => e.calls) };
    }

    delete(id: string): boolean {
        const e = this.entries.get(id);
        if (!e) return false;
        this.entries.delete(id);
        this.bytes -= e.bytes;
        return true;
    }
}
