// POST /v1/responses bodies: their JSON schema (checked by fastify before the handler), and the body
// as a turn: `instructions` as the system message, `input` (a string, or message, function_call and
// function_call_output items) after the stored conversation of `previous_response_id`, function tools
// (declared flat, unlike chat's), tool_choice, max_output_tokens, text.format as a grammar.

import type {
    GrammarRequest,
    SamplingRequest,
    ToolCall,
    ToolsRequest,
    TurnMessage,
    TurnPart,
    TurnRequest,
    TurnResult,
} from "../../engine/turn.js";
import { ApiError } from "../errors.js";
import { imageBytes, type MediaSources } from "../media.js";
import { RESPONSE_STORE, type ResponseStore } from "./store.js";

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });

const part = {
    type: "object",
    required: ["type"],
    properties: {
        type: { type: "string" },
        text: { type: "string" },
        image_url: nullable({ type: "string" }),
    },
};

const item = {
    type: "object",
    properties: {
        type: { type: "string" },
        role: { type: "string", enum: ["user", "assistant", "system", "developer"] },
        content: { anyOf: [{ type: "string" }, { type: "array", maxItems: 64, items: part }] },
        call_id: { type: "string", maxLength: 256 },
        name: { type: "string", maxLength: 256 },
        arguments: { type: "string" },
        output: { anyOf: [{ type: "string" }, { type: "array", maxItems: 64, items: part }] },
    },
};

export const responsesBody = {
    type: "object",
    required: ["input"],
    properties: {
        model: { type: "string" },
        input: { anyOf: [{ type: "string" }, { type: "array", minItems: 1, maxItems: 1024, items: item }] },
        instructions: nullable({ type: "string" }),
        max_output_tokens: nullable({ type: "integer", minimum: 1 }),
        temperature: nullable({ type: "number", minimum: 0, maximum: 2 }),
        top_p: nullable({ type: "number", minimum: 0, maximum: 1 }),
        top_k: nullable({ type: "integer", minimum: 0, maximum: 2147483647 }),
        seed: nullable({ type: "integer" }),
        top_logprobs: nullable({ type: "integer", minimum: 0, maximum: 20 }),
        include: nullable({ type: "array", maxItems: 16, items: { type: "string" } }),
        stream: nullable({ type: "boolean" }),
        store: nullable({ type: "boolean" }),
        previous_response_id: nullable({ type: "string", maxLength: 256 }),
        parallel_tool_calls: nullable({ type: "boolean" }),
        tools: nullable({
            type: "array",
            maxItems: 128,
            items: {
                type: "object",
                required: ["type"],
                properties: {
                    type: { type: "string" },
                    name: { type: "string" },
                    description: nullable({ type: "string" }),
                    parameters: nullable({ type: "object" }),
                },
            },
        }),
        tool_choice: nullable({
            anyOf: [
                { type: "string", enum: ["auto", "none", "required"] },
                {
                    type: "object",
                    required: ["type", "name"],
                    properties: { type: { type: "string", enum: ["function"] }, name: { type: "string" } },
                },
            ],
        }),
        /** llama.cpp's extension, as in chat completions: GLM's enable_thinking. */
        chat_template_kwargs: nullable({ type: "object", properties: { enable_thinking: { type: "boolean" } } }),
        text: nullable({
            type: "object",
            properties: {
                format: {
                    type: "object",
                    required: ["type"],
                    properties: { type: { type: "string", enum: ["text", "json_object", "json_schema"] }, schema: { type: "object" } },
                },
            },
        }),
    },
};

export interface PartBody {
    type: string;
    text?: string;
    image_url?: string | null;
}

export interface ItemBody {
    type?: string;
    role?: "user" | "assistant" | "system" | "developer";
    content?: string | PartBody[];
    call_id?: string;
    name?: string;
    arguments?: string;
    output?: string | PartBody[];
}

export interface ResponsesBody {
    model?: string;
    input: string | ItemBody[];
    instructions?: string | null;
    max_output_tokens?: number | null;
    temperature?: number | null;
    top_p?: number | null;
    top_k?: number | null;
    seed?: number | null;
    top_logprobs?: number | null;
    include?: string[] | null;
    stream?: boolean | null;
    store?: boolean | null;
    previous_response_id?: string | null;
    parallel_tool_calls?: boolean | null;
    tools?: { type: string; name?: string; description?: string | null; parameters?: object | null }[] | null;
    tool_choice?: "auto" | "none" | "required" | { type: "function"; name: string } | null;
    text?: { format?: { type: "text" | "json_object" | "json_schema"; schema?: object } } | null;
    chat_template_kwargs?: { enable_thinking?: boolean } | null;
}

const refuse = (message: string) => new ApiError(400, message, "invalid_request");

function parts(content: string | PartBody[], sources: MediaSources): string | TurnPart[] {
    if (typeof content === "string") return content;
    return content.map((p): TurnPart => {
        if (p.type === "input_text" || p.type === "output_text" || p.type === "refusal" || p.type === "text") {
            if (typeof p.text !== "string") throw refuse(`an ${p.type} part needs a text field`);
            return { type: "text", text: p.text };
        }
        if (p.type === "input_image") {
            const url = p.image_url;
            if (!url) throw new ApiError(400, "an input_image part needs image_url (file_id is not supported)", "invalid_image");
            return { type: "image", source: { load: (signal) => imageBytes(url, sources, signal) } };
        }
        throw refuse(`content parts of type ${p.type} are not supported (input_text, input_image, output_text)`);
    });
}

const flatText = (c: string | PartBody[]) => (typeof c === "string" ? c : c.map((p) => p.text ?? "").join(""));

/** The input items as turn messages: calls join the assistant turn before them, results name their call's function. */
export function inputMessages(input: ResponsesBody["input"], sources: MediaSources, earlier: readonly ToolCall[] = []): TurnMessage[] {
    if (typeof input === "string") return [{ role: "user", content: input }];
    const out: TurnMessage[] = [];
    const names = new Map<string, string>(earlier.map((c) => [c.id, c.name]));
    for (const i of input) {
        const type = i.type ?? "message";
        if (type === "message") {
            if (!i.role || i.content === undefined) throw refuse("a message item needs role and content");
            const role = i.role === "developer" ? "system" : i.role;
            out.push({ role, content: parts(i.content, sources) });
        } else if (type === "function_call") {
            if (!i.call_id || !i.name) throw refuse("a function_call item needs call_id and name");
            const call = { id: i.call_id, name: i.name, arguments: i.arguments ?? "{}" };
            names.set(call.id, call.name);
            const last = out[out.length - 1];
            if (last?.role === "assistant") last.toolCalls = [...(last.toolCalls ?? []), call];
            else out.push({ role: "assistant", content: "", toolCalls: [call] });
        } else if (type === "function_call_output") {
            if (!i.call_id || i.output === undefined) throw refuse("a function_call_output item needs call_id and output");
            const name = names.get(i.call_id);
            out.push({ role: "observation", content: flatText(i.output), toolCallId: i.call_id, ...(name ? { name } : {}) });
        } else if (type === "reasoning") {
            // A reasoning item sent back: the model's thinking is not shown to it again.
        } else throw refuse(`input items of type ${type} are not supported (message, function_call, function_call_output)`);
    }
    return out;
}

export function toolsOf(b: ResponsesBody): ToolsRequest | undefined {
    const tools = (b.tools ?? []).map((t) => {
        if (t.type !== "function" || !t.name) throw refuse(`only function tools are supported (got ${t.type})`);
        return {
            name: t.name,
            ...(t.description ? { description: t.description } : {}),
            ...(t.parameters ? { parameters: t.parameters } : {}),
        };
    });
    const c = b.tool_choice;
    const choice = c == null ? "auto" : typeof c === "string" ? c : { name: c.name };
    if (tools.length === 0 && (choice === "auto" || choice === "none")) return undefined;
    return { tools, choice, parallel: b.parallel_tool_calls ?? true };
}

export const samplingOf = (b: ResponsesBody): SamplingRequest => ({
    temperature: b.temperature ?? undefined,
    topP: b.top_p ?? undefined,
    topK: b.top_k ?? undefined,
    seed: b.seed ?? undefined,
});

/** Log-probabilities are asked for by include (OpenAI's way) or by top_logprobs. */
export const logprobsOf = (b: ResponsesBody) =>
    b.include?.includes("message.output_text.logprobs") || b.top_logprobs != null ? (b.top_logprobs ?? 0) : undefined;

/** text.format as the turn's grammar (json_schema's schema is flat here, unlike chat's response_format). */
export function grammarOf(b: ResponsesBody): GrammarRequest | undefined {
    const f = b.text?.format;
    if (!f || f.type === "text") return undefined;
    return f.type === "json_object" ? { json: true } : { jsonSchema: f.schema ?? {} };
}

export interface ResponsesTurn {
    request: TurnRequest;
    /** The messages this response adds to the stored conversation (its input; its output is added after the turn). */
    input: TurnMessage[];
    /** What the input holds in memory, roughly. */
    bytes: number;
}

/** The body as a turn, after the conversation of previous_response_id (a 404 when the store no longer holds it). */
export function responsesTurn(b: ResponsesBody, sources: MediaSources, store: ResponseStore): ResponsesTurn {
    const history = b.previous_response_id ? store.conversation(b.previous_response_id) : { messages: [], calls: [] };
    if (!history)
        throw new ApiError(
            404,
            `previous response ${b.previous_response_id} is not held by this server (it keeps the last ${RESPONSE_STORE.entries} responses in memory, since it started); send the whole conversation as input`,
            "previous_response_not_found",
        );
    const input = inputMessages(b.input, sources, history.calls);
    const conversation = [...history.messages, ...input];
    return {
        request: {
            messages: b.instructions ? [{ role: "system", content: b.instructions }, ...conversation] : conversation,
            sampling: samplingOf(b),
            maxTokens: b.max_output_tokens ?? undefined,
            tools: toolsOf(b),
            logprobs: logprobsOf(b),
            grammar: grammarOf(b),
            enableThinking: b.chat_template_kwargs?.enable_thinking ?? undefined,
            splitThinking: true,
        },
        input,
        bytes: JSON.stringify(b.input).length,
    };
}

/**
 * What a response adds after its input: its answer as the model wrote it, thinking and calls included,
 * so a later turn's prompt extends the prompt and answer the slot's KV cache holds.
 */
export const outputMessages = (r: TurnResult): TurnMessage[] => [{ role: "assistant", content: r.raw }];
