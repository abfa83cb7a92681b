// How a conversation with tools becomes the messages a model's chat template renders. The template
// is probed once, by rendering: a template that describes the `tools` it is given and renders a call as
// an assistant turn whose `metadata` is the function's name is GLM-4's own dialect (GLM-4-0414, GLM-Z1:
// `<|assistant|>name\n{arguments}`, results as `<|observation|>` turns); any other template (GLM-4.1V,
// AutoGLM-Phone-9B and the demo model have no tool section) gets autoglm's generic dialect, modelled on
// llama.cpp's generic format: the tools are described in a system message and a call is a JSON object
// {"tool_calls": [{"name", "arguments"}]} (docs/server-contract.md, "Tools").

import type { ChatMessage, ChatTemplate } from "../chat-template.js";
import type { ToolCall, ToolDefinition, ToolsRequest } from "../turn.js";

export type ToolDialect = "glm4" | "generic";

export interface TemplateToolCaps {
    dialect: ToolDialect;
    /** The template renders observation (tool result) turns; otherwise they are rendered as user turns. */
    observations: boolean;
}

const PROBE = "autoglm_probe_7f3a";

/** Whether rendering `messages` (with `tools`) shows the probe; a template that raises on them does not. */
function shows(template: ChatTemplate, messages: ChatMessage[], tools?: object[]): boolean {
    try {
        return template.render(messages, { addGenerationPrompt: true, tools }).includes(PROBE);
    } catch {
        return false;
    }
}

const probed = new WeakMap<ChatTemplate, TemplateToolCaps>();

/** What the template does with tools, calls and results (probed once per template). */
export function templateToolCaps(template: ChatTemplate): TemplateToolCaps {
    const known = probed.get(template);
    if (known) return known;
    const user: ChatMessage = { role: "user", content: "?" };
    const describesTools = shows(template, [user], [openAiTool({ name: PROBE, parameters: { type: "object", properties: {} } })]);
    const metadataCalls = shows(template, [user, { role: "assistant", content: "{}", metadata: PROBE }]);
    const caps: TemplateToolCaps = {
        dialect: describesTools && metadataCalls ? "glm4" : "generic",
        observations: shows(template, [user, { role: "observation", content: PROBE }]),
    };
    probed.set(template, caps);
    return caps;
}

/** A tool as chat templates take it (OpenAI's shape: {type: "function", function: {...}}). */
const openAiTool = (t: ToolDefinition) => ({
    type: "function",
    function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters ?? { type: "object", properties: {} },
    },
});

/** A call's arguments as a JSON value (the text itself when it is not JSON). */
function argumentsValue(call: ToolCall): unknown {
    try {
        return JSON.parse(call.arguments);
    } catch {
        return call.arguments;
    }
}

/** The generic dialect's call text: what the model is asked to write, and how past calls are shown to it. */
export const genericCallText = (calls: readonly ToolCall[]) =>
    JSON.stringify({ tool_calls: calls.map((c) => ({ name: c.name, arguments: argumentsValue(c) })) });

/**
 * The generic dialect's description of the tools, in a system message (English, as llama.cpp's generic
 * prompt). It depends on nothing but the tools (tool_choice and parallel_tool_calls are enforced by a
 * grammar and by the parser), so the turns of a conversation render the same system message and reuse
 * its KV cache.
 */
export function genericToolPrompt(tools: readonly ToolDefinition[]): string {
    const specs = tools.map((t) => ({
        name: t.name,
        description: t.description ?? "",
        parameters: t.parameters ?? { type: "object", properties: {} },
    }));
    return [
        "You can call the following functions (JSON schemas of their arguments):",
        JSON.stringify(specs, null, 2),
        "To call functions, answer with only this JSON object, nothing before or after it, one entry per call:",
        '{"tool_calls": [{"name": "<function name>", "arguments": {<the arguments>}}]}',
        "Otherwise answer the user in plain text.",
    ].join("\n");
}

/** A function's result as the model sees it when the template has no observation turn. */
const resultAsUser = (m: ChatMessage): ChatMessage => ({
    role: "user",
    content: JSON.stringify({
        tool_response: { ...(m.name ? { name: m.name } : {}), ...(m.toolCallId ? { id: m.toolCallId } : {}), content: flat(m) },
    }),
});

const flat = (m: ChatMessage) =>
    typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join("");

export interface RenderedTools {
    messages: ChatMessage[];
    /** The template's `tools` variable (the GLM-4 dialect describes them itself). */
    tools?: object[];
}

/**
 * The conversation as the template renders it with `request`'s tools (none: tool_choice "none" or no
 * tools; past calls and results are still rendered): calls in the dialect's form, results as
 * observation turns (or user turns when the template has none), the tools in the template's section
 * or a system message.
 */
export function withTools(caps: TemplateToolCaps, messages: readonly ChatMessage[], request: ToolsRequest | undefined): RenderedTools {
    const described = request && request.choice !== "none" && request.tools.length > 0 ? request.tools : undefined;
    const out: ChatMessage[] = [];
    for (const m of messages) {
        if (m.role === "observation") out.push(caps.observations ? { role: "observation", content: m.content } : resultAsUser(m));
        else if (m.role === "assistant" && m.toolCalls?.length) {
            const text = flat(m);
            if (caps.dialect === "glm4") {
                // GLM-4's training format: one assistant turn per call, the function's name as its metadata.
                if (text.trim()) out.push({ role: "assistant", content: text });
                for (const c of m.toolCalls) out.push({ role: "assistant", content: c.arguments, metadata: c.name });
            } else out.push({ role: "assistant", content: (text.trim() ? `${text}\n` : "") + genericCallText(m.toolCalls) });
        } else out.push({ role: m.role, content: m.content });
    }
    if (!described) return { messages: out };
    if (caps.dialect === "glm4") return { messages: out, tools: described.map(openAiTool) };
    const prompt = genericToolPrompt(described);
    const first = out[0];
    // Into the first system message, or a system message of its own at the start.
    if (first?.role === "system") out[0] = { role: "system", content: `${flat(first)}\n\n${prompt}` };
    else out.unshift({ role: "system", content: prompt });
    return { messages: out };
}
