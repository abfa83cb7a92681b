// The grammar that constrains an answer to tool calls when the request requires one ("required") or
// names the function: built from the tools' argument schemas with node-llama-cpp's JSON-schema
// converter, in the template's dialect, so the answer always parses as calls (as llama-server's
// tool grammar does). JSON-schema features that converter lacks are mapped first: anyOf becomes
// oneOf, an object without properties takes any properties; every listed property is generated
// (the converter treats all properties as required).

import type { Llama } from "node-llama-cpp";
import { GrammarError } from "../errors.js";
import type { ToolDefinition, ToolsRequest } from "../turn.js";
import type { ToolDialect } from "./template-tools.js";

/** A JSON schema in the subset node-llama-cpp converts, meaning as close to the original as it can. */
export function convertibleSchema(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map(convertibleSchema);
    if (typeof schema !== "object" || schema === null) return schema;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(schema)) {
        if (k === "$schema" || k === "title" || k === "default" || k === "examples" || k === "required") continue;
        if (k === "anyOf") out.oneOf = convertibleSchema(v);
        else if (k === "properties" || k === "$defs" || k === "definitions")
            out[k] = Object.fromEntries(Object.entries(v as object).map(([name, s]) => [name, convertibleSchema(s)]));
        else out[k] = convertibleSchema(v);
    }
    // In JSON schema an object without properties takes any; node-llama-cpp's default is none.
    if (out.type === "object" && out.properties === undefined && out.additionalProperties === undefined) out.additionalProperties = true;
    return out;
}

const argumentsSchema = (t: ToolDefinition) => convertibleSchema(t.parameters ?? { type: "object", properties: {} });

/** The tools a forced answer may call: the named one, or all. */
function callable(request: ToolsRequest): ToolDefinition[] {
    const choice = request.choice;
    if (typeof choice !== "object") return request.tools;
    const named = request.tools.filter((t) => t.name === choice.name);
    if (named.length === 0) throw new GrammarError("tools", `tool_choice names ${choice.name}, which is not among the tools`);
    return named;
}

/** node-llama-cpp's JSON grammar ends the root with newlines it trims itself; a call's text ends at its closing brace. */
const withoutTrailingNewlines = (gbnf: string) => gbnf.replace(/^(root ::= .*?)\s*"\\n\\n\\n\\n" \[\\n\]\*\s*$/m, "$1");

/**
 * `gbnf` with every rule name prefixed (so grammars can be combined): rule names are the identifiers
 * outside string literals, character classes and comments.
 */
export function prefixRules(gbnf: string, prefix: string): string {
    let out = "";
    for (let i = 0; i < gbnf.length; ) {
        const c = gbnf[i]!;
        if (c === "#") {
            const end = gbnf.indexOf("\n", i);
            const stop = end < 0 ? gbnf.length : end;
            out += gbnf.slice(i, stop);
            i = stop;
        } else if (c === '"' || c === "[") {
            const close = c === '"' ? '"' : "]";
            let j = i + 1;
            while (j < gbnf.length && gbnf[j] !== close) j += gbnf[j] === "\\" ? 2 : 1;
            out += gbnf.slice(i, j + 1);
            i = j + 1;
        } else if (/[a-zA-Z]/.test(c)) {
            const m = /^[a-zA-Z0-9-]+/.exec(gbnf.slice(i))![0];
            out += prefix + m;
            i += m.length;
        } else {
            out += c;
            i++;
        }
    }
    return out;
}

async function jsonGrammar(llama: Llama, schema: unknown, what: string): Promise<string> {
    try {
        return withoutTrailingNewlines((await llama.createGrammarForJsonSchema(schema as never)).grammar);
    } catch (e) {
        throw new GrammarError("tools", `${what}: ${(e as Error).message}`);
    }
}

const gbnfString = (s: string) => JSON.stringify(s);

/** GBNF for an answer that is only calls of the request's tools (the named one when it names one). */
export async function forcedCallGrammar(llama: Llama, dialect: ToolDialect, request: ToolsRequest): Promise<string> {
    const tools = callable(request);
    const parallel = request.parallel ?? true;
    if (dialect === "generic") {
        const entry = (t: ToolDefinition) => ({ type: "object", properties: { name: { const: t.name }, arguments: argumentsSchema(t) } });
        const schema = {
            type: "object",
            properties: {
                tool_calls: {
                    type: "array",
                    minItems: 1,
                    ...(parallel ? {} : { maxItems: 1 }),
                    items: tools.length === 1 ? entry(tools[0]!) : { oneOf: tools.map(entry) },
                },
            },
        };
        return jsonGrammar(llama, schema, "the tools' schemas cannot constrain decoding");
    }
    // GLM-4: the function's name on its line, then its arguments; one call (the calls of one answer
    // are separated by <|assistant|>, a special token a text grammar does not produce).
    const rules: string[] = [];
    const alternatives: string[] = [];
    for (const [i, t] of tools.entries()) {
        const args = await jsonGrammar(llama, argumentsSchema(t), `the schema of ${t.name} cannot constrain decoding`);
        rules.push(prefixRules(args, `t${i}-`));
        alternatives.push(`${gbnfString(`${t.name}\n`)} t${i}-root`);
    }
    return [`root ::= ${alternatives.join(" | ")}`, ...rules].join("\n");
}
