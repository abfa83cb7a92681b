// What a turn's tools change, decided once per turn: the messages and the template's `tools` as the
// template's dialect renders them, the grammar when a call is required, and a parser for each answer.

import type { Llama } from "node-llama-cpp";
import type { ChatMessage, ChatTemplate } from "../chat-template.js";
import { InvalidRequestError } from "../errors.js";
import type { ToolsRequest } from "../turn.js";
import { forcedCallGrammar } from "./call-grammar.js";
import { toolCallParser, type Parsed, type ToolCallParser } from "./call-parser.js";
import { templateToolCaps, withTools, type RenderedTools } from "./template-tools.js";

export interface ToolPlan {
    rendered: RenderedTools;
    /** GBNF that constrains the answer to calls (tool_choice "required" or a named function). */
    grammar?: string;
    /** A parser for each answer; undefined when the answer is text only (no tools, or tool_choice "none"). */
    parser?: () => ToolCallParser;
}

/** OpenAI's rule for function names. */
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function check(request: ToolsRequest): void {
    const seen = new Set<string>();
    for (const t of request.tools) {
        if (!NAME.test(t.name))
            throw new InvalidRequestError(`a tool's name must be 1 to 64 letters, digits, _ or -: ${JSON.stringify(t.name)}`);
        if (seen.has(t.name)) throw new InvalidRequestError(`two tools are named ${t.name}`);
        seen.add(t.name);
        if (t.parameters !== undefined && (typeof t.parameters !== "object" || t.parameters === null || Array.isArray(t.parameters)))
            throw new InvalidRequestError(`the parameters of ${t.name} must be a JSON schema object`);
    }
    const choice = request.choice;
    if (typeof choice === "object" && !seen.has(choice.name))
        throw new InvalidRequestError(`tool_choice names the function ${choice.name}, which is not among the tools`);
    if ((choice === "required" || typeof choice === "object") && request.tools.length === 0)
        throw new InvalidRequestError(
            `tool_choice ${typeof choice === "object" ? "names a function" : "is required"} but no tools are given`,
        );
}

export async function planTools(
    template: ChatTemplate,
    llama: Llama,
    messages: readonly ChatMessage[],
    request?: ToolsRequest,
): Promise<ToolPlan> {
    if (request) check(request);
    const caps = templateToolCaps(template);
    const rendered = withTools(caps, messages, request);
    if (!request || request.choice === "none" || request.tools.length === 0) return { rendered };
    const forced = request.choice === "required" || typeof request.choice === "object";
    const grammar = forced ? await forcedCallGrammar(llama, caps.dialect, request) : undefined;
    const names = request.tools.map((t) => t.name);
    const parser = () => toolCallParser(caps.dialect, names, forced);
    return { rendered, grammar, parser: request.parallel === false ? () => firstCallOnly(parser()) : parser };
}

/** parallel_tool_calls false: an answer makes one call at most (a forced one is held to it by the grammar too). */
function firstCallOnly(p: ToolCallParser): ToolCallParser {
    let calls = 0;
    const limit = (r: Parsed): Parsed => {
        const kept = r.calls.slice(0, Math.max(0, 1 - calls));
        calls += kept.length;
        return { text: r.text, calls: kept };
    };
    return { push: (text) => limit(p.push(text)), end: () => limit(p.end()) };
}
