// From the model's raw text to its thinking and one action, tolerant of every failure shape
// Open-AutoGLM's users reported (a trailing </answer>, GLM box tokens, quotes and newlines inside
// strings, full-width punctuation), and never turning what it cannot read into "finished": that is
// an ActionParseError, which the loop retries once and then reports with the raw text.
//
// Order (upstream's PR #378 order, not its released one): the <answer> tag first, then the
// do(action= / finish(message= markers after </think>, then the whole text.

import type { Action, Point } from "./action.js";

export class ActionParseError extends Error {
    override name = "ActionParseError";
}

/** The model's turn split as Open-AutoGLM splits it: the thinking and the answer (the action's text). */
export interface SplitResponse {
    thinking: string;
    answer: string;
}

const BOX = /<\|begin_of_box\|>|<\|end_of_box\|>/g;
const THINK_TAGS = /<\/?think>/g;
const MARKER = /(?:do|finish)\s*[(（]\s*(?:action|message)\s*[=＝]/;

function cutAtAnswerEnd(s: string): string {
    const end = s.indexOf("</answer>");
    return (end >= 0 ? s.slice(0, end) : s).trim();
}

export function splitResponse(raw: string): SplitResponse {
    const text = raw.replace(BOX, "");
    const thinkEnd = text.indexOf("</think>");
    const from = thinkEnd >= 0 ? thinkEnd + "</think>".length : 0;
    const tag = text.indexOf("<answer>", from);
    const at = tag >= 0 ? tag : text.indexOf("<answer>");
    if (at >= 0) {
        return {
            thinking: text.slice(0, at).replace(THINK_TAGS, "").trim(),
            answer: cutAtAnswerEnd(text.slice(at + "<answer>".length)),
        };
    }
    const m = MARKER.exec(text.slice(from));
    if (m) {
        const start = from + m.index;
        return { thinking: text.slice(0, start).replace(THINK_TAGS, "").trim(), answer: cutAtAnswerEnd(text.slice(start)) };
    }
    if (thinkEnd >= 0)
        return { thinking: text.slice(0, thinkEnd).replace(THINK_TAGS, "").trim(), answer: cutAtAnswerEnd(text.slice(from)) };
    return { thinking: "", answer: cutAtAnswerEnd(text) };
}

// ---- the call syntax: name(key=value, ...), full-width punctuation accepted as its ASCII twin ----

type Value = string | number | boolean | null | Value[];

const OPEN = "(（";
const CLOSE = ")）";
const COMMA = ",，";
const EQUALS = "=＝";
const LBRACKET = "[［";
const RBRACKET = "]］";
/** Opening quote -> the characters that may close it. */
const QUOTES: Record<string, string> = { '"': '"”', "“": '”"', "'": "'’", "‘": "’'", "「": "」" };
const NEXT_ARG = /^\s*[,，]\s*[A-Za-z_]+\s*[=＝]/;
const CALL_END = /^\s*[)）]\s*[.。]?\s*$/;

/** Is `c` (one character, or "" at the end) one of `set`? */
const oneOf = (set: string, c: string) => c !== "" && set.includes(c);

class Reader {
    i = 0;
    constructor(readonly s: string) {}
    ws() {
        while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
    }
    peek() {
        return this.s[this.i] ?? "";
    }
    take(chars: string, what: string) {
        this.ws();
        const c = this.peek();
        if (!oneOf(chars, c)) throw new ActionParseError(`expected ${what} at ${this.where()}`);
        this.i++;
    }
    where() {
        return this.i >= this.s.length ? "the end" : `${JSON.stringify(this.s.slice(this.i, this.i + 12))}`;
    }
}

/**
 * A quoted string. Free text (`lenient`) ends at the first matching quote followed by the next
 * `key=` or by the call's closing parenthesis at the very end, so quotes the model forgot to escape
 * stay in the text; failing that, and for names, at the first matching quote. Escaped quotes and
 * backslashes are unescaped; other backslashes stay (`\n` is typed as written).
 */
function readString(r: Reader, lenient: boolean): string {
    const open = r.peek();
    const closers = QUOTES[open]!;
    const start = ++r.i;
    let first = -1;
    for (let j = start; j < r.s.length; j++) {
        const c = r.s[j]!;
        if (c === "\\") {
            j++;
            continue;
        }
        if (!closers.includes(c)) continue;
        if (first < 0) first = j;
        if (!lenient) break;
        const rest = r.s.slice(j + 1);
        if (NEXT_ARG.test(rest) || CALL_END.test(rest)) {
            first = j;
            break;
        }
    }
    if (first < 0) throw new ActionParseError("a string is not closed (the answer may have been cut off)");
    r.i = first + 1;
    return r.s.slice(start, first).replace(/\\(["'“”‘’\\])/g, "$1");
}

function readNumber(r: Reader): number {
    const m = /^-?\d+(?:\.\d+)?/.exec(r.s.slice(r.i));
    if (!m) throw new ActionParseError(`expected a value at ${r.where()}`);
    r.i += m[0].length;
    return Number(m[0]);
}

/** Lists in the action language are flat (a point); nesting deeper than this is not an action. */
const MAX_DEPTH = 4;

function readValue(r: Reader, lenient = true, depth = 0): Value {
    r.ws();
    const c = r.peek();
    if (c in QUOTES) return readString(r, lenient);
    if (oneOf(LBRACKET, c)) {
        if (depth >= MAX_DEPTH) throw new ActionParseError(`lists nested more than ${MAX_DEPTH} deep at ${r.where()}`);
        r.i++;
        const items: Value[] = [];
        r.ws();
        if (oneOf(RBRACKET, r.peek())) {
            r.i++;
            return items;
        }
        for (;;) {
            items.push(readValue(r, lenient, depth + 1));
            r.ws();
            const d = r.peek();
            r.i++;
            if (oneOf(RBRACKET, d)) return items;
            if (!oneOf(COMMA, d)) throw new ActionParseError(`expected , or ] in a list at ${r.where()}`);
        }
    }
    const word = /^(True|False|None)\b/.exec(r.s.slice(r.i));
    if (word) {
        r.i += word[0].length;
        return word[1] === "None" ? null : word[1] === "True";
    }
    return readNumber(r);
}

/** Reads `name(key=value, ...)`: the call's name and its keyword arguments. */
function readCall(text: string): { name: string; args: Map<string, Value> } {
    const r = new Reader(text);
    const name = /^(do|finish)\b/.exec(text)?.[1];
    if (!name) throw new ActionParseError("the answer is not a do(...) or finish(...) action");
    r.i = name.length;
    r.take(OPEN, "(");
    const args = new Map<string, Value>();
    r.ws();
    if (oneOf(CLOSE, r.peek())) r.i++;
    else
        for (;;) {
            r.ws();
            const key = /^[A-Za-z_]+/.exec(r.s.slice(r.i))?.[0];
            if (!key) {
                // finish("done"): a positional message.
                if (name === "finish" && args.size === 0 && r.peek() in QUOTES) args.set("message", readValue(r));
                else throw new ActionParseError(`expected an argument name at ${r.where()}`);
            } else {
                r.i += key.length;
                r.take(EQUALS, `= after ${key}`);
                // The action's name is a name: its string ends at the first quote.
                args.set(key, readValue(r, key !== "action"));
            }
            r.ws();
            const at = r.where();
            const d = r.peek();
            r.i++;
            if (oneOf(CLOSE, d)) break;
            if (!oneOf(COMMA, d)) throw new ActionParseError(`expected , or ) at ${at}`);
        }
    if (!/^\s*[.。]?\s*$/.test(text.slice(r.i)))
        throw new ActionParseError(`unexpected text after the action: ${JSON.stringify(text.slice(r.i, r.i + 40))}`);
    return { name, args };
}

// ---- from arguments to a typed action ----

const CANONICAL: Record<string, Exclude<Action["action"], "finish" | "unknown">> = {};
for (const n of [
    "Launch",
    "Tap",
    "Type",
    "Type_Name",
    "Swipe",
    "Long Press",
    "Double Tap",
    "Back",
    "Home",
    "Interact",
    "Wait",
    "Take_over",
    "Note",
    "Call_API",
] as const)
    CANONICAL[n.toLowerCase().replace(/[\s_-]/g, "")] = n;

function asText(v: Value | undefined, key: string, fallback?: string): string {
    if (v === undefined || v === null) {
        if (fallback !== undefined) return fallback;
        throw new ActionParseError(`${key}= is missing`);
    }
    if (Array.isArray(v)) throw new ActionParseError(`${key}= should be text, got a list`);
    return String(v === true ? "True" : v === false ? "False" : v);
}

function asPoint(v: Value | undefined, key: string): Point {
    // element="[500,300]": a list the model quoted.
    if (typeof v === "string" && /^\s*[[［][^[\]［］]*[\]］]\s*$/.test(v)) v = readValue(new Reader(v.trim()));
    if (v === undefined) throw new ActionParseError(`${key}= is missing`);
    if (!Array.isArray(v) || v.length !== 2 || v.some((n) => typeof n !== "number"))
        throw new ActionParseError(`${key}= should be [x,y], got ${JSON.stringify(v)}`);
    const [x, y] = v as [number, number];
    if (x < 0 || y < 0 || x > 1000 || y > 1000) throw new ActionParseError(`${key}= [${x},${y}] is outside the 0-999 screen space`);
    return [x, y];
}

function toAction(name: string, args: Map<string, Value>): Action {
    if (name === "finish") return { action: "finish", message: asText(args.get("message"), "message", "") };
    const raw = args.get("action");
    if (typeof raw !== "string" || !raw.trim()) throw new ActionParseError('do(...) has no action="..." name');
    const action = CANONICAL[raw.toLowerCase().replace(/[\s_-]/g, "")];
    switch (action) {
        case "Launch":
            return { action, app: asText(args.get("app"), "app") };
        case "Tap": {
            const message = args.get("message");
            return message === undefined
                ? { action, element: asPoint(args.get("element"), "element") }
                : { action, element: asPoint(args.get("element"), "element"), message: asText(message, "message") };
        }
        case "Type":
        case "Type_Name":
            return { action, text: asText(args.get("text"), "text", "") };
        case "Swipe":
            return { action, start: asPoint(args.get("start"), "start"), end: asPoint(args.get("end"), "end") };
        case "Long Press":
        case "Double Tap":
            return { action, element: asPoint(args.get("element"), "element") };
        case "Back":
        case "Home":
        case "Interact":
            return { action };
        case "Wait":
            return { action, duration: asText(args.get("duration"), "duration", "1 seconds") };
        case "Take_over":
            return { action, message: asText(args.get("message"), "message", "User intervention required") };
        case "Note":
            return { action, message: asText(args.get("message"), "message", "") };
        case "Call_API":
            return { action, instruction: asText(args.get("instruction"), "instruction", "") };
        default:
            if (!/^[\p{L}\p{N} _-]{1,40}$/u.test(raw))
                throw new ActionParseError(`${JSON.stringify(raw.slice(0, 60))} is not an action name`);
            return { action: "unknown", name: raw };
    }
}

/** Strips a Markdown code fence around the action (```python\ndo(...)\n```). */
function unfence(s: string): string {
    const m = /^```[A-Za-z]*\s*\n?([\s\S]*?)\n?```$/.exec(s);
    return m ? m[1]!.trim() : s;
}

/** The action in an answer; throws ActionParseError when there is none to read. */
export function parseAction(answer: string): Action {
    const text = unfence(answer.trim());
    if (!text) throw new ActionParseError("the answer is empty");
    const { name, args } = readCall(text);
    return toAction(name, args);
}

/** The model's thinking, its answer and the action in it; throws ActionParseError as parseAction does. */
export function parseResponse(raw: string): SplitResponse & { action: Action } {
    const split = splitResponse(raw);
    return { ...split, action: parseAction(split.answer) };
}
