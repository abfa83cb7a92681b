// JSON schemas of the request bodies, checked by fastify's validator before a handler runs.
// Unknown keys are allowed (OpenAI clients send many); wrong types of known keys are 400s.

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });

const contentPart = {
    type: "object",
    required: ["type"],
    properties: {
        type: { type: "string", enum: ["text", "image_url", "input_audio", "image", "audio"] },
        text: { type: "string" },
        image_url: { anyOf: [{ type: "string" }, { type: "object", required: ["url"], properties: { url: { type: "string" } } }] },
        input_audio: { type: "object", required: ["data"], properties: { data: { type: "string" }, format: { type: "string" } } },
    },
};

/** The seed article's composite input: {"text": ..., "image": <base64>, "audio": <base64>}. */
const compositeContent = {
    type: "object",
    properties: { text: { type: "string" }, image: { type: "string" }, audio: { type: "string" } },
    anyOf: [{ required: ["text"] }, { required: ["image"] }, { required: ["audio"] }],
};

/** A call an assistant message made (sent back with the conversation). */
const toolCall = {
    type: "object",
    required: ["function"],
    properties: {
        id: { type: "string", maxLength: 256 },
        type: { type: "string", enum: ["function"] },
        function: {
            type: "object",
            required: ["name"],
            properties: { name: { type: "string", maxLength: 256 }, arguments: { type: "string" } },
        },
    },
};

const message = {
    type: "object",
    required: ["role"],
    properties: {
        role: { type: "string", enum: ["system", "developer", "user", "assistant", "tool", "observation"] },
        content: { anyOf: [{ type: "string" }, { type: "array", maxItems: 64, items: contentPart }, compositeContent, { type: "null" }] },
        tool_calls: nullable({ type: "array", maxItems: 128, items: toolCall }),
        tool_call_id: nullable({ type: "string", maxLength: 256 }),
        name: nullable({ type: "string", maxLength: 256 }),
    },
};

/** A function's declaration: chat completions nest it under `function`. */
const functionDeclaration = {
    type: "object",
    required: ["name"],
    properties: {
        name: { type: "string" },
        description: nullable({ type: "string" }),
        parameters: nullable({ type: "object" }),
        strict: nullable({ type: "boolean" }),
    },
};

export const toolsSchema = {
    tools: nullable({
        type: "array",
        maxItems: 128,
        items: {
            type: "object",
            required: ["type", "function"],
            properties: { type: { type: "string", enum: ["function"] }, function: functionDeclaration },
        },
    }),
    tool_choice: nullable({
        anyOf: [
            { type: "string", enum: ["auto", "none", "required"] },
            {
                type: "object",
                required: ["type", "function"],
                properties: {
                    type: { type: "string", enum: ["function"] },
                    function: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
                },
            },
        ],
    }),
    parallel_tool_calls: nullable({ type: "boolean" }),
};

/** OpenAI's logit_bias: token ids (as strings) to -100..100. */
const logitBias = nullable({
    type: "object",
    maxProperties: 1024,
    propertyNames: { pattern: "^[0-9]{1,10}$" },
    additionalProperties: { type: "number", minimum: -100, maximum: 100 },
});

const sampling = {
    max_tokens: nullable({ type: "integer", minimum: 1 }),
    max_completion_tokens: nullable({ type: "integer", minimum: 1 }),
    temperature: nullable({ type: "number", minimum: 0, maximum: 2 }),
    top_p: nullable({ type: "number", minimum: 0, maximum: 1 }),
    top_k: nullable({ type: "integer", minimum: 0 }),
    min_p: nullable({ type: "number", minimum: 0, maximum: 1 }),
    seed: nullable({ type: "integer" }),
    logit_bias: logitBias,
    frequency_penalty: nullable({ type: "number", minimum: -2, maximum: 2 }),
    presence_penalty: nullable({ type: "number", minimum: -2, maximum: 2 }),
    repeat_penalty: nullable({ type: "number", minimum: 0 }),
    stop: nullable({ anyOf: [{ type: "string" }, { type: "array", maxItems: 16, items: { type: "string" } }] }),
    stream: nullable({ type: "boolean" }),
    stream_options: nullable({ type: "object", properties: { include_usage: { type: "boolean" } } }),
    n: nullable({ type: "integer", minimum: 1, maximum: 16 }),
    ignore_eos: nullable({ type: "boolean" }),
    model: { type: "string" },
};

export const chatCompletionBody = {
    type: "object",
    required: ["messages"],
    properties: {
        ...sampling,
        messages: { type: "array", minItems: 1, maxItems: 1024, items: message },
        response_format: nullable({
            type: "object",
            required: ["type"],
            properties: {
                type: { type: "string", enum: ["text", "json_object", "json_schema"] },
                json_schema: { type: "object", properties: { schema: { type: "object" }, name: { type: "string" } } },
            },
        }),
        chat_template_kwargs: nullable({ type: "object", properties: { enable_thinking: { type: "boolean" } } }),
        enable_thinking: nullable({ type: "boolean" }),
        return_reasoning: nullable({ type: "boolean" }),
        reasoning_format: nullable({ type: "string", enum: ["none", "deepseek", "auto"] }),
        grammar: nullable({ type: "string", maxLength: 65536 }),
        ...toolsSchema,
        logprobs: nullable({ type: "boolean" }),
        top_logprobs: nullable({ type: "integer", minimum: 0, maximum: 20 }),
    },
};

export const completionBody = {
    type: "object",
    required: ["prompt"],
    properties: {
        ...sampling,
        prompt: { anyOf: [{ type: "string" }, { type: "array", minItems: 1, maxItems: 1, items: { type: "string" } }] },
        logprobs: nullable({ type: "integer", minimum: 0, maximum: 20 }),
    },
};

export interface SamplingBody {
    model?: string;
    max_tokens?: number | null;
    max_completion_tokens?: number | null;
    temperature?: number | null;
    top_p?: number | null;
    top_k?: number | null;
    min_p?: number | null;
    seed?: number | null;
    logit_bias?: Record<string, number> | null;
    n?: number | null;
    frequency_penalty?: number | null;
    presence_penalty?: number | null;
    repeat_penalty?: number | null;
    stop?: string | string[] | null;
    ignore_eos?: boolean | null;
    stream?: boolean | null;
    stream_options?: { include_usage?: boolean } | null;
}

export type ContentPartBody =
    | { type: "text"; text?: string }
    | { type: "image_url" | "image"; image_url?: string | { url: string } }
    | { type: "input_audio" | "audio"; input_audio?: { data: string; format?: string } };

export interface ToolCallBody {
    id?: string;
    type?: "function";
    function: { name: string; arguments?: string };
}

export interface MessageBody {
    role: "system" | "developer" | "user" | "assistant" | "tool" | "observation";
    content?: string | ContentPartBody[] | { text?: string; image?: string; audio?: string } | null;
    tool_calls?: ToolCallBody[] | null;
    tool_call_id?: string | null;
    name?: string | null;
}

export interface FunctionBody {
    name: string;
    description?: string | null;
    parameters?: object | null;
    strict?: boolean | null;
}

export interface ToolsBody {
    tools?: { type: "function"; function: FunctionBody }[] | null;
    tool_choice?: "auto" | "none" | "required" | { type: "function"; function: { name: string } } | null;
    parallel_tool_calls?: boolean | null;
}

export interface ChatCompletionBody extends SamplingBody, ToolsBody {
    messages: MessageBody[];
    response_format?: { type: "text" | "json_object" | "json_schema"; json_schema?: { schema?: object } } | null;
    chat_template_kwargs?: { enable_thinking?: boolean } | null;
    enable_thinking?: boolean | null;
    return_reasoning?: boolean | null;
    /** llama-server's per-request reasoning_format. */
    reasoning_format?: "none" | "deepseek" | "auto" | null;
    /** llama-server's extension: a GBNF grammar for the answer. */
    grammar?: string | null;
    logprobs?: boolean | null;
    top_logprobs?: number | null;
}

export interface CompletionBody extends SamplingBody {
    prompt: string | string[];
    /** The legacy API's logprobs: alternatives per token (0..20). */
    logprobs?: number | null;
}
