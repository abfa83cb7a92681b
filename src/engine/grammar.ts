// Output constraints: a GBNF grammar as is, or a JSON schema turned into GBNF by node-llama-cpp's
// converter (the same one LlamaChatSession uses). A turn's grammar request becomes one GBNF text
// here (grammarFor), checked before any work.

import { readFileSync } from "node:fs";
import type { Llama } from "node-llama-cpp";
import { UserError } from "../core/errors.js";
import { GrammarError } from "./errors.js";
import type { GrammarRequest } from "./turn.js";

export function readGrammarFile(path: string): string {
    try {
        return readFileSync(path, "utf8");
    } catch (e) {
        throw new UserError(`cannot read the grammar file ${path}: ${(e as Error).message}`);
    }
}

/** A JSON schema given as JSON text or the path of a .json file (the CLI's --json-schema). */
export function readJsonSchema(schema: string): object {
    let text = schema.trim();
    if (!text.startsWith("{")) {
        try {
            text = readFileSync(schema, "utf8");
        } catch (e) {
            throw new UserError(`cannot read the JSON schema ${schema}: ${(e as Error).message}`);
        }
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        throw new UserError("the JSON schema is not valid JSON");
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new UserError("the JSON schema is not a JSON object");
    return parsed;
}

/** GBNF for answers that match `schema`. */
export async function grammarFromJsonSchema(llama: Llama, schema: object): Promise<string> {
    try {
        return (await llama.createGrammarForJsonSchema(schema as never)).grammar;
    } catch (e) {
        throw new UserError(`unsupported JSON schema: ${(e as Error).message}`);
    }
}

/**
 * The GBNF a turn's grammar request stands for, checked: a grammar that does not parse is a
 * GrammarError("grammar"); a JSON schema (or JSON object mode) that cannot become one, ("response_format").
 */
export async function grammarFor(llama: Llama, vocabSize: number, g: GrammarRequest | undefined): Promise<string | undefined> {
    if (!g) return undefined;
    if ("gbnf" in g) {
        try {
            await validateGrammar(llama, g.gbnf, vocabSize);
        } catch (e) {
            if (!(e instanceof UserError)) throw e;
            throw new GrammarError("grammar", e.message);
        }
        return g.gbnf;
    }
    try {
        return "json" in g ? (await llama.getGrammarFor("json")).grammar : await grammarFromJsonSchema(llama, g.jsonSchema);
    } catch (e) {
        throw new GrammarError("response_format", (e as Error).message);
    }
}

/**
 * Token ids a GBNF grammar names as `<[id]>` (or `!<[id]>`), outside its string literals, character
 * classes and comments. llama.cpp's parser takes any id; one past the vocabulary can never be sampled.
 */
export function grammarTokenIds(grammar: string): number[] {
    const ids: number[] = [];
    for (let i = 0; i < grammar.length; i++) {
        const c = grammar[i];
        if (c === "#") {
            while (i < grammar.length && grammar[i] !== "\n") i++;
            continue;
        }
        if (c === '"' || c === "[") {
            const end = c === '"' ? '"' : "]";
            for (i++; i < grammar.length && grammar[i] !== end; i++) if (grammar[i] === "\\") i++;
            continue;
        }
        const m = c === "<" ? /^<\[(\d+)\]>/.exec(grammar.slice(i, i + 24)) : null;
        if (m) {
            ids.push(Number(m[1]));
            i += m[0].length - 1;
        }
    }
    return ids;
}

/**
 * Checks a GBNF grammar with llama.cpp's parser (through node-llama-cpp) before any generation, and
 * that every token it names exists (`vocabSize`), so an unsatisfiable `<[99999]>` is refused at the start.
 */
export async function validateGrammar(llama: Llama, grammar: string, vocabSize?: number): Promise<void> {
    try {
        await llama.createGrammar({ grammar });
    } catch (e) {
        throw new UserError(`invalid grammar: ${(e as Error).message}`);
    }
    const outside = vocabSize === undefined ? undefined : grammarTokenIds(grammar).find((id) => id >= vocabSize);
    if (outside !== undefined)
        throw new UserError(`invalid grammar: it names token <[${outside}]>, outside the model's vocabulary of ${vocabSize} tokens`);
}
