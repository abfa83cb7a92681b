// JSON schemas of the request bodies, checked by fastify's validator before a handler runs.
// Unknown keys are allowed (OpenAI clients send many); wrong types of known keys are 400s, and so
// are numbers outside what the sampler takes (a seed past 2^32, a top_k past 2^31): never a 500.

import type { FastifySchemaValidationError } from "fastify";
import { ApiError } from "./errors.js";

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });

const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;

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

const message = {
    type: "object",
    required: ["role"],
    properties: {
        role: { type: "string", enum: ["system", "developer", "user", "assistant", "tool", "observation"] },
        content: { anyOf: [{ type: "string" }, { type: "array", maxItems: 64, items: contentPart }, compositeContent, { type: "null" }] },
    },
};

const sampling = {
    max_tokens: nullable({ type: "integer", minimum: 1 }),
    max_completion_tokens: nullable({ type: "integer", minimum: 1 }),
    temperature: nullable({ type: "number", minimum: 0, maximum: 2 }),
    top_p: nullable({ type: "number", minimum: 0, maximum: 1 }),
    top_k: nullable({ type: "integer", minimum: 0, maximum: INT32_MAX }),
    min_p: nullable({ type: "number", minimum: 0, maximum: 1 }),
    // -1 is llama-server's "random"; the sampler's seed is a uint32.
    seed: nullable({ type: "integer", minimum: -1, maximum: UINT32_MAX }),
    frequency_penalty: nullable({ type: "number", minimum: -2, maximum: 2 }),
    presence_penalty: nullable({ type: "number", minimum: -2, maximum: 2 }),
    repeat_penalty: nullable({ type: "number", minimum: 0 }),
    stop: nullable({ anyOf: [{ type: "string" }, { type: "array", maxItems: 16, items: { type: "string" } }] }),
    stream: nullable({ type: "boolean" }),
    stream_options: nullable({ type: "object", properties: { include_usage: { type: "boolean" } } }),
    n: nullable({ type: "integer", minimum: 1, maximum: 1 }),
    ignore_eos: nullable({ type: "boolean" }),
    model: { type: "string" },
    // Not honoured yet: an empty map (what some clients always send) is accepted, any bias is a 400 (schemaError).
    logit_bias: nullable({ type: "object", maxProperties: 0 }),
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
    },
};

export const completionBody = {
    type: "object",
    required: ["prompt"],
    properties: {
        ...sampling,
        prompt: { anyOf: [{ type: "string" }, { type: "array", minItems: 1, maxItems: 1, items: { type: "string" } }] },
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
    frequency_penalty?: number | null;
    presence_penalty?: number | null;
    repeat_penalty?: number | null;
    stop?: string | string[] | null;
    ignore_eos?: boolean | null;
    stream?: boolean | null;
    stream_options?: { include_usage?: boolean } | null;
    logit_bias?: Record<string, number> | null;
}

export type ContentPartBody =
    | { type: "text"; text?: string }
    | { type: "image_url" | "image"; image_url?: string | { url: string } }
    | { type: "input_audio" | "audio"; input_audio?: { data: string; format?: string } };

export interface MessageBody {
    role: "system" | "developer" | "user" | "assistant" | "tool" | "observation";
    content?: string | ContentPartBody[] | { text?: string; image?: string; audio?: string } | null;
}

export interface ChatCompletionBody extends SamplingBody {
    messages: MessageBody[];
    response_format?: { type: "text" | "json_object" | "json_schema"; json_schema?: { schema?: object } } | null;
    chat_template_kwargs?: { enable_thinking?: boolean } | null;
    enable_thinking?: boolean | null;
    return_reasoning?: boolean | null;
    /** llama-server's per-request reasoning_format. */
    reasoning_format?: "none" | "deepseek" | "auto" | null;
    /** llama-server's extension: a GBNF grammar for the answer. */
    grammar?: string | null;
}

export interface CompletionBody extends SamplingBody {
    prompt: string | string[];
}

/**
 * fastify's schemaErrorFormatter: the first violation as "body/field message" (fastify's own
 * wording), and a field autoglm does not honour yet as what it is rather than a schema error.
 */
export function schemaError(errors: FastifySchemaValidationError[], dataVar: string): Error {
    if (errors.some((e) => e.instancePath.startsWith("/logit_bias")))
        return new ApiError(
            400,
            "logit_bias is not supported yet: send the request without it (or with an empty map)",
            "unsupported_parameter",
        );
    const e = errors[0];
    return new Error(e ? `${dataVar}${e.instancePath} ${e.message}` : `${dataVar} is invalid`);
}

/** The seed a request asks for: undefined (random) when absent or -1, as llama-server. */
export const requestSeed = (body: SamplingBody): number | undefined => (body.seed == null || body.seed === -1 ? undefined : body.seed);
