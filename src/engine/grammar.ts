// Output constraints: a GBNF grammar as is, or a JSON schema turned into GBNF by node-llama-cpp's
// converter (the same one LlamaChatSession uses).

import { readFileSync } from "node:fs";
import type { Llama } from "node-llama-cpp";
import { UserError } from "../core/errors.js";

export function readGrammarFile(path: string): string {
    try {
        return readFileSync(path, "utf8");
    } catch (e) {
        throw new UserError(`cannot read the grammar file ${path}: ${(e as Error).message}`);
    }
}

/** `schema` is JSON text or the path of a .json file. */
export async function grammarFromJsonSchema(llama: Llama, schema: string): Promise<string> {
    let text = schema.trim();
    if (!text.startsWith("{")) {
        try { text = readFileSync(schema, "utf8"); } catch (e) { throw new UserError(`cannot read the JSON schema ${schema}: ${(e as Error).message}`); }
    }
    let parsed: unknown;
    try { parsed = JSON.parse(text); } catch { throw new UserError("the JSON schema is not valid JSON"); }
    try {
        return (await llama.createGrammarForJsonSchema(parsed as never)).grammar;
    } catch (e) {
        throw new UserError(`unsupported JSON schema: ${(e as Error).message}`);
    }
}

/** Checks a GBNF grammar with llama.cpp's parser (through node-llama-cpp) before any generation. */
export async function validateGrammar(llama: Llama, grammar: string): Promise<void> {
    try {
        await llama.createGrammar({ grammar });
    } catch (e) {
        throw new UserError(`invalid grammar: ${(e as Error).message}`);
    }
}
