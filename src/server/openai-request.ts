// An OpenAI request body as a turn: messages (or the raw prompt), the sampler fields (the model's
// defaults where absent, as llama-server; logit_bias, seed), limits, stop strings, n, logprobs, the
// grammar or response_format, tools and tool_choice, and where thinking goes (reasoning_format).

import type { GrammarRequest, SamplingRequest, ToolsRequest, TurnRequest } from "../engine/turn.js";
import { ApiError } from "./errors.js";
import type { MediaSources } from "./media.js";
import { turnMessages } from "./messages.js";
import type { ChatCompletionBody, CompletionBody, SamplingBody, ToolsBody } from "./schemas.js";

/**
 * Where the model's thinking goes: "deepseek" splits it into reasoning_content; "none" leaves the raw
 * text, <think>/<answer> tags included, in content (vLLM without a reasoning parser, as Open-AutoGLM
 * runs it); "auto" splits only for clients that ask (return_reasoning or enable_thinking).
 */
export type ReasoningFormat = "auto" | "none" | "deepseek";

const sampling = (b: SamplingBody): SamplingRequest => ({
    temperature: b.temperature ?? undefined,
    topK: b.top_k ?? undefined,
    topP: b.top_p ?? undefined,
    minP: b.min_p ?? undefined,
    frequencyPenalty: b.frequency_penalty ?? undefined,
    presencePenalty: b.presence_penalty ?? undefined,
    repeatPenalty: b.repeat_penalty ?? undefined,
    seed: b.seed ?? undefined,
    logitBias: b.logit_bias ? Object.entries(b.logit_bias).map(([token, bias]) => [Number(token), bias] as const) : undefined,
});

/** Limits and stop strings every completion shares. */
const limits = (b: SamplingBody) => ({
    sampling: sampling(b),
    maxTokens: (b as ChatCompletionBody).max_completion_tokens ?? b.max_tokens ?? undefined,
    stop: b.stop == null ? [] : typeof b.stop === "string" ? [b.stop] : b.stop,
    ignoreEos: b.ignore_eos ?? undefined, // llama-server's ignore_eos
    n: b.n ?? undefined,
});

/** Chat completions' tools (each declaration under `function`) and tool_choice ({type, function: {name}}). */
export function toolsRequest(b: ToolsBody): ToolsRequest | undefined {
    if (!b.tools?.length) {
        // tool_choice without tools: nothing to call (required or a named function is refused by the engine).
        return b.tool_choice && b.tool_choice !== "auto" && b.tool_choice !== "none"
            ? { tools: [], choice: toolChoice(b.tool_choice) }
            : undefined;
    }
    return {
        tools: b.tools.map((t) => ({
            name: t.function.name,
            ...(t.function.description ? { description: t.function.description } : {}),
            ...(t.function.parameters ? { parameters: t.function.parameters } : {}),
        })),
        choice: toolChoice(b.tool_choice),
        parallel: b.parallel_tool_calls ?? true,
    };
}

const toolChoice = (c: ToolsBody["tool_choice"]): ToolsRequest["choice"] =>
    c == null ? "auto" : typeof c === "string" ? c : { name: c.function.name };

/** llama-server's grammar first; else OpenAI's response_format. */
function grammar(body: ChatCompletionBody): GrammarRequest | undefined {
    if (body.grammar) return { gbnf: body.grammar };
    const f = body.response_format;
    if (!f || f.type === "text") return undefined;
    return f.type === "json_object" ? { json: true } : { jsonSchema: f.json_schema?.schema ?? {} };
}

export interface ChatTurn {
    request: TurnRequest;
    /** reasoning_content goes to the client (split, and the client did not say return_reasoning: false). */
    returnReasoning: boolean;
}

export function chatTurn(body: ChatCompletionBody, sources: MediaSources, format: ReasoningFormat): ChatTurn {
    if (body.top_logprobs != null && !body.logprobs) throw new ApiError(400, "top_logprobs needs logprobs: true", "invalid_request");
    const enableThinking = body.chat_template_kwargs?.enable_thinking ?? body.enable_thinking ?? undefined;
    const use = body.reasoning_format ?? format;
    // auto: clients that speak of thinking get it apart; others (Open-AutoGLM) get the model's raw text.
    const split = use === "deepseek" || (use === "auto" && (body.return_reasoning != null || enableThinking != null));
    return {
        request: {
            ...limits(body),
            messages: turnMessages(body.messages, sources),
            enableThinking,
            splitThinking: split,
            grammar: grammar(body),
            tools: toolsRequest(body),
            // OpenAI's top_logprobs without logprobs is refused; logprobs alone gives the tokens' own.
            logprobs: body.logprobs ? (body.top_logprobs ?? 0) : undefined,
        },
        returnReasoning: split && body.return_reasoning !== false,
    };
}

export function completionTurn(body: CompletionBody): TurnRequest {
    return {
        ...limits(body),
        prompt: typeof body.prompt === "string" ? body.prompt : body.prompt[0]!,
        logprobs: body.logprobs ?? undefined,
    };
}
