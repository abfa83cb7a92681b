// File paths in the chat's /image, /audio, /save and /load lines, read as a shell reads a word,
// since that is what terminals insert when a file is dropped on them: `/a/my\ shot.png` (most
// terminals), `'/a/my shot.png'` (GNOME's), `'/a/it'\''s.png` (a quote inside single quotes),
// `"/a/my shot.png"`, or a file:// address. And Tab completion of those paths at the prompt.

import { readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface PathWord {
    path: string;
    /** What follows the path (a question), without the spaces between. */
    rest: string;
}

/** The first shell word of `arg` and what follows; undefined when there is none (or a quote is left open). */
export function splitPathWord(arg: string): PathWord | undefined {
    let i = 0;
    while (i < arg.length && /\s/.test(arg[i]!)) i++;
    // A file:// address is percent-encoded: taken as it is, up to the first space.
    const url = /^file:\/\/\S+/i.exec(arg.slice(i))?.[0];
    if (url) {
        try {
            return { path: fileURLToPath(url), rest: arg.slice(i + url.length).trim() };
        } catch {
            /* not a local file address: read as a word below */
        }
    }
    let path = "";
    let started = false;
    while (i < arg.length && !/\s/.test(arg[i]!)) {
        const c = arg[i]!;
        started = true;
        if (c === "'") {
            const end = arg.indexOf("'", i + 1);
            if (end < 0) return undefined;
            path += arg.slice(i + 1, end);
            i = end + 1;
        } else if (c === '"') {
            i++;
            for (;;) {
                if (i >= arg.length) return undefined;
                const d = arg[i]!;
                if (d === '"') break;
                if (d === "\\" && i + 1 < arg.length && '"\\$`'.includes(arg[i + 1]!)) i++;
                path += arg[i++]!;
            }
            i++;
        } else if (c === "\\" && i + 1 < arg.length) {
            path += arg[i + 1]!;
            i += 2;
        } else {
            path += c;
            i++;
        }
    }
    if (!started) return undefined;
    if (/^file:\/\//i.test(path)) {
        try {
            path = fileURLToPath(path); // a quoted address
        } catch {
            /* not a local file address: kept as written */
        }
    }
    return { path: expandHome(path), rest: arg.slice(i).trim() };
}

function expandHome(path: string): string {
    return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** A name as a shell word that needs no quotes: spaces, quotes and the like backslash-escaped. */
export function escapePath(name: string): string {
    return name.replace(/([\s'"\\$`!&;|<>()*?[\]{}#~])/g, "\\$1");
}

const COMMANDS = ["/image", "/audio", "/save", "/load", "/reset", "/help", "/exit"];
const PATH_COMMANDS = /^(\/image|\/audio|\/save|\/load)\s+/;

/** What a half-typed path word means so far: inside an open quote, or with backslash escapes. */
function partialWord(typed: string): { path: string; quote: string } {
    const q = typed[0];
    if ((q === "'" || q === '"') && !typed.slice(1).includes(q)) return { path: typed.slice(1), quote: q };
    return { path: typed.replace(/\\(.)/g, "$1"), quote: "" };
}

/**
 * readline's completer: the /commands at the start of a line, and the path after /image, /audio,
 * /save and /load (escaped as a dropped file is, or inside the quote the user opened; folders end
 * in /). Returns [candidates, the text they complete], each candidate starting with that text.
 */
export function completeChatLine(line: string, cwd = process.cwd()): [string[], string] {
    if (/^\/\S*$/.test(line)) return [COMMANDS.filter((c) => c.startsWith(line)).map((c) => `${c} `), line];
    const m = PATH_COMMANDS.exec(line);
    if (!m) return [[], line];
    const typed = line.slice(m[0].length);
    const word = splitPathWord(typed);
    if (word && (word.rest || /[^\\]\s$/.test(typed))) return [[], typed]; // past the path: a question
    const { path, quote } = partialWord(typed);
    const full = expandHome(path);
    const slash = full.lastIndexOf("/");
    const folder = slash >= 0 ? full.slice(0, slash + 1) : "";
    const prefix = full.slice(slash + 1);
    const lookIn = folder ? (folder.startsWith("/") ? folder : join(cwd, folder)) : cwd;
    let names: string[];
    try {
        names = readdirSync(lookIn);
    } catch {
        return [[], typed];
    }
    const shownFolder = typed.slice(0, typed.lastIndexOf("/") + 1); // the user's own spelling of it
    const hits = names
        .filter((n) => n.startsWith(prefix) && (prefix.startsWith(".") || !n.startsWith(".")))
        .sort()
        .map((n) => {
            const isDir = statSync(join(lookIn, n), { throwIfNoEntry: false })?.isDirectory();
            const name = quote ? n : escapePath(n);
            return `${shownFolder || quote}${name}${isDir ? "/" : quote}`;
        })
        .filter((h) => h.startsWith(typed));
    return [hits, typed];
}
