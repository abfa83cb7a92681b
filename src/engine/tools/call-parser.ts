// Reads tool calls out of an answer's content as it streams, in the template's dialect
// (template-tools.ts). Text that cannot be part of a call passes through at once; text that may be
// is held. In "auto" mode the calls are released at the end, and only if the whole answer parses as
// calls of declared functions: anything else stays text, as it was written. When decoding was
// constrained to calls ("required", a named function), each call is released as soon as it is complete.

import { randomBytes } from "node:crypto";
import type { ToolCall } from "../turn.js";
import type { ToolDialect } from "./template-tools.js";

export interface Parsed {
    /** Content that is certainly not part of a call. */
    text: string;
    calls: ToolCall[];
}

export interface ToolCallParser {
    push(text: string): Parsed;
    /** The end of the answer: what is left as text, and the calls not released yet. */
    end(): Parsed;
}

/** OpenAI's shape of a call id. */
export const callId = () => `call_${randomBytes(12).toString("hex")}`;

/**
 * Where the JSON value starting at `from` (at "{" or "[") ends (the index after it), or -1 when the
 * text ends first; strings and escapes are skipped.
 */
export function jsonEnd(text: string, from: number): number {
    let depth = 0,
        inString = false;
    for (let i = from; i < text.length; i++) {
        const c = text[i];
        if (inString) {
            if (c === "\\") i++;
            else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === "{" || c === "[") depth++;
        else if (c === "}" || c === "]") {
            depth--;
            if (depth === 0) return i + 1;
        }
    }
    return -1;
}

const parseJson = (text: string): unknown => {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A call entry {name, arguments} of a declared function, or undefined. */
function callOf(entry: unknown, names: ReadonlySet<string>): ToolCall | undefined {
    if (!isObject(entry) || typeof entry.name !== "string" || !names.has(entry.name)) return undefined;
    const args = entry.arguments ?? entry.parameters ?? {};
    if (typeof args === "string") return isObject(parseJson(args)) ? { id: callId(), name: entry.name, arguments: args } : undefined;
    return isObject(args) ? { id: callId(), name: entry.name, arguments: JSON.stringify(args) } : undefined;
}

/** What `{...}` says in the generic dialect: calls, a plain answer in `response`, or neither. */
function genericAnswer(value: unknown, names: ReadonlySet<string>): { calls: ToolCall[] } | { text: string } | undefined {
    if (!isObject(value)) return undefined;
    if (typeof value.response === "string" && Object.keys(value).length === 1) return { text: value.response };
    const entries = Array.isArray(value.tool_calls) ? value.tool_calls : isObject(value.tool_call) ? [value.tool_call] : undefined;
    if (!entries?.length) return undefined;
    const calls = entries.map((e) => callOf(e, names));
    return calls.every((c): c is ToolCall => c !== undefined) ? { calls } : undefined;
}

const GENERIC_KEYS = ['"tool_calls"', '"tool_call"', '"response"'];
/** Whether `held` (leading whitespace removed) can still begin an object whose first key is one of GENERIC_KEYS. */
function genericPrefix(held: string): "maybe" | "yes" | "no" {
    const m = /^\{\s*/.exec(held);
    if (!m) return held === "" ? "maybe" : "no";
    const rest = held.slice(m[0].length);
    if (rest === "") return "maybe";
    if (GENERIC_KEYS.some((k) => rest.startsWith(k))) return "yes";
    return GENERIC_KEYS.some((k) => k.startsWith(rest)) ? "maybe" : "no";
}

/** The generic dialect: the answer is one JSON object {"tool_calls": [...]} (or llama.cpp's {"tool_call": {...}}). */
class GenericParser implements ToolCallParser {
    private held = "";
    private mode: "undecided" | "text" | "json" = "undecided";
    /** Eager: where the next call entry may start in `held`, and how many were released. */
    private scan = -1;
    private released = 0;

    constructor(
        private readonly names: ReadonlySet<string>,
        private readonly eager: boolean,
    ) {}

    push(text: string): Parsed {
        if (this.mode === "text") return { text, calls: [] };
        this.held += text;
        if (this.mode === "undecided") {
            const state = genericPrefix(this.held.trimStart());
            if (state === "no") {
                this.mode = "text";
                const out = this.held;
                this.held = "";
                return { text: out, calls: [] };
            }
            if (state === "maybe") return { text: "", calls: [] };
            this.mode = "json";
        }
        return { text: "", calls: this.eager ? this.completeEntries() : [] };
    }

    /** Call entries of the tool_calls array that are complete since the last look (forced decoding only). */
    private completeEntries(): ToolCall[] {
        if (this.scan < 0) {
            const m = /^\s*\{\s*"tool_calls"\s*:\s*\[\s*/.exec(this.held);
            if (!m) return [];
            this.scan = m[0].length;
        }
        const out: ToolCall[] = [];
        for (;;) {
            const start = this.held.indexOf("{", this.scan);
            if (start < 0) return out;
            const end = jsonEnd(this.held, start);
            if (end < 0) return out;
            const call = callOf(parseJson(this.held.slice(start, end)), this.names);
            this.scan = end;
            if (call) {
                out.push(call);
                this.released++;
            }
        }
    }

    end(): Parsed {
        if (this.mode === "text") return { text: "", calls: [] };
        const held = this.held;
        this.held = "";
        const answer = genericAnswer(parseJson(held.trim()), this.names);
        if (this.released > 0) {
            // Released while decoding was constrained: the rest of the array, if the answer was cut, is lost.
            const all = answer && "calls" in answer ? answer.calls : [];
            return { text: "", calls: all.slice(this.released) };
        }
        if (!answer) return { text: held, calls: [] };
        return "text" in answer ? { text: answer.text, calls: [] } : { text: "", calls: answer.calls };
    }
}

/**
 * GLM-4's dialect: each call is the function's name on a line of its own, then its arguments as a
 * JSON object (`<|assistant|>` between calls renders as nothing).
 */
class Glm4Parser implements ToolCallParser {
    private held = "";
    private mode: "undecided" | "text" | "calls" = "undecided";
    private readonly calls: ToolCall[] = [];
    /** Where the unparsed rest of `held` starts, and how many calls were released. */
    private at = 0;
    private released = 0;
    private broken = false;

    constructor(
        private readonly names: ReadonlySet<string>,
        private readonly eager: boolean,
    ) {}

    push(text: string): Parsed {
        if (this.mode === "text") return { text, calls: [] };
        this.held += text;
        if (this.mode === "undecided") {
            const lead = this.held.trimStart();
            const nl = lead.indexOf("\n");
            const line = (nl < 0 ? lead : lead.slice(0, nl)).trim();
            const could = [...this.names].some((n) => (nl < 0 ? n.startsWith(line) : n === line));
            if (!could) {
                this.mode = "text";
                const out = this.held;
                this.held = "";
                return { text: out, calls: [] };
            }
            if (nl < 0) return { text: "", calls: [] };
            this.mode = "calls";
        }
        this.parse();
        if (!this.eager) return { text: "", calls: [] };
        const out = this.calls.slice(this.released);
        this.released = this.calls.length;
        return { text: "", calls: out };
    }

    /** Parses the complete calls after `at`: name line, then a JSON object. */
    private parse(): void {
        while (!this.broken) {
            const rest = this.held.slice(this.at);
            const m = /^\s*([^\n]+?)[ \t]*\n\s*/.exec(rest);
            if (!m) return;
            if (!this.names.has(m[1]!)) {
                this.broken = rest.includes("\n") || ![...this.names].some((n) => n.startsWith(m[1]!));
                return;
            }
            const start = this.at + m[0].length;
            if (start >= this.held.length) return;
            if (this.held[start] !== "{") {
                this.broken = true;
                return;
            }
            const end = jsonEnd(this.held, start);
            if (end < 0) return;
            const args = this.held.slice(start, end);
            if (!isObject(parseJson(args))) {
                this.broken = true;
                return;
            }
            this.calls.push({ id: callId(), name: m[1]!, arguments: args });
            this.at = end;
        }
    }

    end(): Parsed {
        if (this.mode === "text") return { text: "", calls: [] };
        this.parse();
        const complete = !this.broken && this.held.slice(this.at).trim() === "" && this.calls.length > 0;
        if (this.released > 0) return { text: "", calls: this.calls.slice(this.released) };
        if (!complete) return { text: this.held, calls: [] };
        return { text: "", calls: this.calls };
    }
}

/** A parser for one answer; `forced`: decoding was constrained to calls (their release need not wait for the end). */
export function toolCallParser(dialect: ToolDialect, names: readonly string[], forced: boolean): ToolCallParser {
    const set = new Set(names);
    return dialect === "glm4" ? new Glm4Parser(set, forced) : new GenericParser(set, forced);
}
