// A turn as the JSON body of OpenAI's chat (or text) completions, exactly as the caller shaped it:
// a message whose content is a string is sent as that string, a list of parts stays a list (one
// text part included) in the caller's order (Open-AutoGLM puts the screenshot before the text, and
// the model was trained on that). Only the fields the caller set are sent, under OpenAI's names;
// top_k, min_p and the repeat penalty are the extensions llama-server, vLLM and SGLang read.

import type { GrammarRequest, TurnMessage, TurnRequest } from "../engine/turn.js";
import { audioPart, imagePart } from "./media.js";

type Part = { type: "text"; text: string } | Awaited<ReturnType<typeof imagePart>> | Awaited<ReturnType<typeof audioPart>>;
export interface OpenAiMessage {
    role: string;
    content: string | Part[];
}

/** The messages with each media item read and encoded, in order (the signal stops a slow loader). */
export async function openAiMessages(messages: TurnMessage[], signal?: AbortSignal): Promise<OpenAiMessage[]> {
    const out: OpenAiMessage[] = [];
    for (const m of messages) {
        if (typeof m.content === "string") {
            out.push({ role: m.role, content: m.content });
            continue;
        }
        const parts: Part[] = [];
        for (const p of m.content) {
            if (p.type === "text") parts.push({ type: "text", text: p.text });
            else if (p.type === "image") parts.push(await imagePart(p.source, signal));
            else parts.push(await audioPart(p.source, signal));
        }
        out.push({ role: m.role, content: parts });
    }
    return out;
}

function grammarFields(g: GrammarRequest | undefined): Record<string, unknown> {
    if (!g) return {};
    if ("gbnf" in g) return { grammar: g.gbnf }; // llama-server's and autoglm's extension
    if ("jsonSchema" in g) return { response_format: { type: "json_schema", json_schema: { name: "answer", schema: g.jsonSchema } } };
    return { response_format: { type: "json_object" } };
}

/** The request's fields other than model, messages or prompt, and stream. */
export function requestFields(r: TurnRequest): Record<string, unknown> {
    const s = r.sampling ?? {};
    const f: Record<string, unknown> = {};
    const set = (name: string, v: unknown) => {
        if (v !== undefined) f[name] = v;
    };
    set("max_tokens", r.maxTokens);
    set("temperature", s.temperature);
    set("top_p", s.topP);
    set("frequency_penalty", s.frequencyPenalty);
    set("presence_penalty", s.presencePenalty);
    set("seed", s.seed);
    if (r.stop?.length) f.stop = r.stop;
    set("top_k", s.topK);
    set("min_p", s.minP);
    // llama-server and autoglm read repeat_penalty, vLLM and SGLang repetition_penalty; each ignores the other.
    set("repeat_penalty", s.repeatPenalty);
    set("repetition_penalty", s.repeatPenalty);
    set("repeat_last_n", s.penaltyLastN);
    if (r.ignoreEos) f.ignore_eos = true;
    if (r.enableThinking !== undefined) f.chat_template_kwargs = { enable_thinking: r.enableThinking };
    Object.assign(f, grammarFields(r.grammar));
    return f;
}

/** The whole body: the model, the conversation (or prompt), the fields, streamed with the usage chunk. */
export function requestBody(model: string, input: { messages: OpenAiMessage[] } | { prompt: string }, r: TurnRequest) {
    return { model, ...input, ...requestFields(r), stream: true, stream_options: { include_usage: true } };
}
