// A turn as an OpenAI Responses API object: output items (the thinking as a reasoning item with
// reasoning_text content, the answer as a message with one output_text part, each call as a
// function_call item), status ("completed"; "incomplete" with incomplete_details when max_output_tokens
// cut it; "failed" with the error), usage; and, streamed, the documented events in order, each with
// its sequence_number: response.created, response.in_progress, per item output_item.added,
// content_part.added, the deltas, their .done events, content_part.done, output_item.done, then
// response.completed (or response.incomplete / response.failed).

import { randomBytes } from "node:crypto";
import type { TokenLogprob, ToolCall, TurnEvent, TurnResult } from "../../engine/turn.js";
import { chatLogprobs } from "../openai-response.js";
import type { ResponsesBody } from "./request.js";

const hex = () => randomBytes(12).toString("hex");

type Item = Record<string, unknown> & { id: string; type: string };

interface OpenItem {
    kind: "reasoning" | "message";
    index: number;
    item: Item;
    text: string;
    logprobs: TokenLogprob[];
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export class ResponseObject {
    readonly id = `resp_${hex()}`;
    readonly createdAt = Math.floor(Date.now() / 1000);
    private seq = 0;
    private readonly output: Item[] = [];
    private current?: OpenItem;
    /** Leading whitespace of a message not opened yet, and log-probabilities waiting for their text. */
    private held = "";
    private pending: TokenLogprob[] = [];

    constructor(
        private readonly body: ResponsesBody,
        private readonly model: string,
        private readonly withLogprobs: boolean,
    ) {}

    /** The response object: its output so far (streamed) or the result's (not streamed). */
    object(status: ResponseStatus, r?: TurnResult, error?: { code: string | null; message: string }) {
        const b = this.body;
        return {
            id: this.id,
            object: "response",
            created_at: this.createdAt,
            status,
            error: error ?? null,
            incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
            instructions: b.instructions ?? null,
            max_output_tokens: b.max_output_tokens ?? null,
            model: this.model,
            output: this.output,
            parallel_tool_calls: b.parallel_tool_calls ?? true,
            previous_response_id: b.previous_response_id ?? null,
            temperature: b.temperature ?? null,
            top_p: b.top_p ?? null,
            tool_choice: b.tool_choice ?? "auto",
            tools: (b.tools ?? []).map((t) => ({ ...t, parameters: t.parameters ?? null, strict: false })),
            text: { format: b.text?.format ?? { type: "text" } },
            truncation: "disabled",
            store: b.store ?? true,
            metadata: null,
            ...(r ? { usage: responseUsage(r) } : {}),
        };
    }

    /** The finished response, not streamed: its items from the result. */
    fromResult(r: TurnResult) {
        if (r.reasoning) this.output.push(reasoningItem(r.reasoning));
        if (r.content || !r.toolCalls?.length) this.output.push(messageItem(r.content, this.withLogprobs ? (r.logprobs ?? []) : undefined));
        for (const c of r.toolCalls ?? []) this.output.push(callItem(c));
        return this.object(statusOf(r), r);
    }

    private event(type: string, fields: object) {
        return { type, sequence_number: this.seq++, ...fields };
    }

    created() {
        return [
            this.event("response.created", { response: this.object("in_progress") }),
            this.event("response.in_progress", { response: this.object("in_progress") }),
        ];
    }

    /** The stream events a turn event becomes. */
    events(e: TurnEvent): object[] {
        if (e.type === "reasoning") return [...this.into("reasoning"), this.delta("response.reasoning_text.delta", e.text)];
        if (e.type === "logprobs") {
            this.pending.push(...e.tokens);
            return [];
        }
        if (e.type === "tool_call") return [...this.close(), ...this.call(e.call)];
        if (e.type !== "text") return [];
        if (this.current?.kind !== "message" && !(this.held + e.text).trim()) {
            this.held += e.text; // a message is not opened for whitespace
            return [];
        }
        const text = this.held + e.text;
        this.held = "";
        return [...this.into("message"), this.delta("response.output_text.delta", text)];
    }

    /** The closing events: the open item's, then response.completed or response.incomplete. */
    finish(r: TurnResult) {
        const events = this.close();
        // An answer with no text and no calls still has its (empty) message, as the unstreamed response.
        if (!this.output.some((i) => i.type !== "reasoning")) events.push(...this.into("message"), ...this.close());
        const status = statusOf(r);
        return [
            ...events,
            this.event(status === "completed" ? "response.completed" : "response.incomplete", { response: this.object(status, r) }),
        ];
    }

    /** A failure once streaming began. */
    failed(error: { code: string | null; message: string }) {
        return [...this.close(), this.event("response.failed", { response: this.object("failed", undefined, error) })];
    }

    private into(kind: OpenItem["kind"]): object[] {
        if (this.current?.kind === kind) return [];
        const events = this.close();
        const index = this.output.length;
        const item: Item =
            kind === "message"
                ? { id: `msg_${hex()}`, type: "message", status: "in_progress", role: "assistant", content: [] }
                : { id: `rs_${hex()}`, type: "reasoning", status: "in_progress", summary: [], content: [] };
        this.output.push(item);
        this.current = { kind, index, item, text: "", logprobs: [] };
        const part = kind === "message" ? textPart("", this.withLogprobs ? [] : undefined) : { type: "reasoning_text", text: "" };
        events.push(
            this.event("response.output_item.added", { output_index: index, item: { ...item } }),
            this.event("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part }),
        );
        return events;
    }

    private delta(type: string, text: string) {
        const c = this.current!;
        c.text += text;
        const fields: Record<string, unknown> = { item_id: c.item.id, output_index: c.index, content_index: 0, delta: text };
        if (c.kind === "message") {
            fields.logprobs = chatLogprobs(this.pending);
            c.logprobs.push(...this.pending);
            this.pending = [];
        }
        return this.event(type, fields);
    }

    private close(): object[] {
        const c = this.current;
        if (!c) return [];
        this.current = undefined;
        const text = c.text.trim();
        if (c.kind === "message") c.logprobs.push(...this.pending.splice(0));
        const part = c.kind === "message" ? textPart(text, this.withLogprobs ? c.logprobs : undefined) : { type: "reasoning_text", text };
        const done = c.kind === "message" ? "response.output_text.done" : "response.reasoning_text.done";
        const item = { ...c.item, status: "completed", content: [part] };
        this.output[c.index] = item;
        const at = { item_id: c.item.id, output_index: c.index, content_index: 0 };
        return [
            this.event(done, { ...at, text, ...(c.kind === "message" ? { logprobs: chatLogprobs(c.logprobs) } : {}) }),
            this.event("response.content_part.done", { ...at, part }),
            this.event("response.output_item.done", { output_index: c.index, item }),
        ];
    }

    private call(call: ToolCall): object[] {
        const index = this.output.length;
        const item = callItem(call);
        this.output.push(item);
        const at = { item_id: item.id, output_index: index };
        return [
            this.event("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress", arguments: "" } }),
            this.event("response.function_call_arguments.delta", { ...at, delta: call.arguments }),
            this.event("response.function_call_arguments.done", { ...at, name: call.name, arguments: call.arguments }),
            this.event("response.output_item.done", { output_index: index, item }),
        ];
    }
}

const statusOf = (r: TurnResult): ResponseStatus => (r.finish === "length" ? "incomplete" : "completed");

const textPart = (text: string, logprobs: TokenLogprob[] | undefined) => ({
    type: "output_text",
    text,
    annotations: [],
    ...(logprobs ? { logprobs: chatLogprobs(logprobs) } : {}),
});

const messageItem = (text: string, logprobs: TokenLogprob[] | undefined): Item => ({
    id: `msg_${hex()}`,
    type: "message",
    status: "completed",
    role: "assistant",
    content: [textPart(text, logprobs)],
});

const reasoningItem = (text: string): Item => ({
    id: `rs_${hex()}`,
    type: "reasoning",
    status: "completed",
    summary: [],
    content: [{ type: "reasoning_text", text }],
});

const callItem = (c: ToolCall): Item => ({
    id: `fc_${hex()}`,
    type: "function_call",
    status: "completed",
    call_id: c.id,
    name: c.name,
    arguments: c.arguments,
});

function responseUsage(r: TurnResult) {
    const u = r.usage;
    return {
        input_tokens: u.promptTokens,
        input_tokens_details: { cached_tokens: u.cachedTokens },
        output_tokens: u.completionTokens,
        total_tokens: u.promptTokens + u.completionTokens,
    };
}
