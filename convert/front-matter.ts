// A model card's YAML front matter (README.md between the first two `---` lines), read the way
// gguf-py's metadata.py reads it: same extraction, same "Norway" and tab fixes, then YAML 1.1
// scalars (yaml.safe_load). Only the YAML that model cards use is parsed: block maps and lists,
// flow lists, quoted and plain scalars, `|`/`>` blocks. A top-level entry in any other form
// (anchors, flow maps, ...) is kept as unreadable, and is an error only if the converter uses it.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

/** A top-level entry whose value autoglm's YAML subset cannot read, with the reason. */
export class Unreadable {
    constructor(readonly reason: string) {}
}

export type FrontMatter = Record<string, YamlValue | Unreadable>;

/** Python's str.splitlines() separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are line breaks to Python
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** The front matter's YAML text, or undefined when the card has none (first line not `---`). */
export function frontMatterText(readme: string): string | undefined {
    const lines = readme.split(LINE_BREAKS);
    if (readme.length === 0 || lines[0] !== "---") return undefined;
    const yaml: string[] = [];
    for (const line of lines.slice(1)) {
        if (line === "---") break;
        yaml.push(line);
    }
    // metadata.py's fixes: `- no` (Norway) stays a string; tabs become two spaces.
    return `${yaml.join("\n")}\n`.replaceAll("- no\n", '- "no"\n').replaceAll("\t", "  ");
}

class YamlError extends Error {}

interface Line {
    indent: number;
    text: string;
    n: number;
}

/** Strips a ` #` comment outside quotes. */
function stripComment(s: string): string {
    let quote: string | undefined;
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (quote) {
            if (c === quote) quote = undefined;
            continue;
        }
        if (c === '"' || c === "'") {
            if (i === 0 || /[\s[,]/.test(s[i - 1])) quote = c;
            continue;
        }
        if (c === "#" && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i).trimEnd();
    }
    return s.trimEnd();
}

/** A YAML 1.1 scalar as PyYAML's safe_load resolves it. */
export function scalar(raw: string): YamlValue {
    const s = raw.trim();
    if (s.startsWith('"')) {
        if (!s.endsWith('"') || s.length < 2) throw new YamlError(`unterminated string ${s}`);
        return JSON.parse(
            s
                .replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1")
                .replace(
                    /\\([0abtnvfre /])/g,
                    (_, c) =>
                        (({ "0": "\\u0000", a: "\\u0007", v: "\\u000b", e: "\\u001b", " ": " ", "/": "/" }) as Record<string, string>)[c] ??
                        `\\${c}`,
                ),
        );
    }
    if (s.startsWith("'")) {
        if (!s.endsWith("'") || s.length < 2) throw new YamlError(`unterminated string ${s}`);
        return s.slice(1, -1).replaceAll("''", "'");
    }
    if (/^[&*!%@`{]/.test(s)) throw new YamlError(`unsupported YAML (${s[0]})`);
    if (s === "" || s === "~" || /^(null|Null|NULL)$/.test(s)) return null;
    if (/^(yes|Yes|YES|true|True|TRUE|on|On|ON|y|Y)$/.test(s)) return /^[yY]$/.test(s) ? s : true;
    if (/^(no|No|NO|false|False|FALSE|off|Off|OFF|n|N)$/.test(s)) return /^[nN]$/.test(s) ? s : false;
    if (/^[-+]?(0|[1-9][0-9_]*)$/.test(s)) return Number(s.replaceAll("_", ""));
    if (/^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$/.test(s) && /[0-9]/.test(s)) return Number(s.replaceAll("_", ""));
    if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
    if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
    return s;
}

/** `[a, "b", c]`: a flow list of scalars. */
function flowList(s: string): YamlValue[] {
    const body = s.trim();
    if (!body.endsWith("]")) throw new YamlError("a flow list must end on its line");
    const inner = body.slice(1, -1);
    const items: string[] = [];
    let cur = "",
        quote: string | undefined;
    for (const c of inner) {
        if (quote) {
            cur += c;
            if (c === quote) quote = undefined;
            continue;
        }
        if (c === '"' || c === "'") {
            quote = c;
            cur += c;
            continue;
        }
        if (c === "[" || c === "{") throw new YamlError("nested flow collections are not supported");
        if (c === ",") {
            items.push(cur);
            cur = "";
            continue;
        }
        cur += c;
    }
    if (cur.trim() !== "" || items.length) items.push(cur);
    return items.filter((i, k) => i.trim() !== "" || k < items.length - 1).map(scalar);
}

/** `key: rest` split at the first `: ` (or a trailing `:`) outside quotes. */
function splitKey(text: string): [string, string] | undefined {
    const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'"#][^:]*?|[^'"#]):(?:\s+(.*)|)$/.exec(text);
    if (!m) return undefined;
    const key = scalar(m[1]);
    return [String(key), m[2] ?? ""];
}

class Parser {
    i = 0;
    constructor(readonly lines: Line[]) {}

    /** The value after `key:` with `rest` on the same line, its block (if any) indented past `indent`. */
    value(rest: string, indent: number): YamlValue {
        const r = stripComment(rest);
        if (r === "") {
            const next = this.lines[this.i];
            // A block list may sit at the key's own indentation.
            if (next && (next.indent > indent || (next.indent === indent && /^-(\s|$)/.test(next.text)))) return this.block(next.indent);
            return null;
        }
        if (r === "|" || r === ">" || /^[|>][-+]?$/.test(r)) return this.blockScalar(r, indent);
        if (r.startsWith("[")) return flowList(r);
        return scalar(r);
    }

    blockScalar(style: string, indent: number): string {
        const out: string[] = [];
        let inner: number | undefined;
        while (this.i < this.lines.length) {
            const l = this.lines[this.i];
            if (l.indent <= indent) break;
            inner ??= l.indent;
            out.push(" ".repeat(Math.max(0, l.indent - inner)) + l.text);
            this.i++;
        }
        const text = style.startsWith("|") ? out.join("\n") : out.join(" ").replace(/ {2,}/g, " ");
        return style.endsWith("-") ? text : `${text}\n`;
    }

    /** A block (map or list) whose lines start at exactly `indent`. */
    block(indent: number): YamlValue {
        const first = this.lines[this.i];
        if (/^-(\s|$)/.test(first.text)) return this.list(indent);
        return this.map(indent);
    }

    list(indent: number): YamlValue[] {
        const out: YamlValue[] = [];
        while (this.i < this.lines.length) {
            const l = this.lines[this.i];
            if (l.indent < indent || (l.indent === indent && !/^-(\s|$)/.test(l.text))) break;
            if (l.indent > indent) throw new YamlError(`line ${l.n}: unexpected indentation`);
            this.i++;
            const item = l.text.slice(1).trimStart();
            const itemIndent = indent + (l.text.length - item.length);
            if (item === "") {
                out.push(this.value("", indent));
                continue;
            }
            const kv = item.startsWith("[") ? undefined : splitKey(stripComment(item));
            if (kv) {
                // `- key: value` starts a map whose other keys are indented like `key`.
                this.lines.splice(this.i, 0, { indent: itemIndent, text: item, n: l.n });
                out.push(this.map(itemIndent));
            } else {
                out.push(this.value(item, itemIndent));
            }
        }
        return out;
    }

    map(indent: number): { [key: string]: YamlValue } {
        const out: { [key: string]: YamlValue } = {};
        while (this.i < this.lines.length) {
            const l = this.lines[this.i];
            if (l.indent < indent) break;
            if (l.indent > indent) throw new YamlError(`line ${l.n}: unexpected indentation`);
            if (/^-(\s|$)/.test(l.text)) break;
            const kv = splitKey(stripComment(l.text));
            if (!kv) throw new YamlError(`line ${l.n}: expected "key: value"`);
            this.i++;
            out[kv[0]] = this.value(kv[1], indent);
        }
        return out;
    }
}

/** The front matter's top-level entries; an entry autoglm's subset cannot read is an `Unreadable`. */
export function parseFrontMatter(yaml: string): FrontMatter {
    const lines: Line[] = [];
    yaml.split("\n").forEach((raw, k) => {
        const text = raw.trimStart();
        if (text === "" || text.startsWith("#")) return; // blank lines inside | blocks are dropped too
        lines.push({ indent: raw.length - text.length, text: text.trimEnd(), n: k + 1 });
    });
    // Top-level entries are parsed one at a time, so one unreadable entry does not hide the others.
    const starts: number[] = [];
    lines.forEach((l, k) => {
        if (l.indent === 0 && l.text !== "" && !/^-(\s|$)/.test(l.text)) starts.push(k);
    });
    const out: FrontMatter = {};
    for (const [k, start] of starts.entries()) {
        const slice = lines.slice(start, starts[k + 1] ?? lines.length);
        const key = splitKey(stripComment(slice[0].text))?.[0] ?? slice[0].text;
        try {
            const p = new Parser(slice);
            const m = p.map(0);
            if (p.i < p.lines.length) throw new YamlError(`line ${p.lines[p.i].n}: unexpected text`);
            Object.assign(out, m);
        } catch (e) {
            out[key] = new Unreadable((e as Error).message);
        }
    }
    return out;
}
