// Text stays text: in a chat prompt only the chat template's own markup becomes control tokens
// (<|user|>, [gMASK], <|begin_of_image|>...). The text of every message (user and system text, tool
// results, transcripts, earlier answers) is tokenized with llama.cpp's special-token parsing off, so
// forwarded text (an e-mail, a web page, a screen's OCR) cannot forge a turn. llama-server tokenizes
// the whole rendered prompt with parsing on; so did autoglm.
//
// How: each message text reaches the template with every control-token string in it broken by a
// sentinel (a Unicode noncharacter removed from the text first), so the control-token strings left in
// the rendered prompt are the template's. The prompt is then cut where llama.cpp's tokenizer cuts it
// (tokenizer_st_partition: control tokens, longest first, with their lstrip/rstrip), the sentinels are
// removed, and each piece of plain text is tokenized with parsing off. Parsing off still matches the
// vocabulary's user-defined tokens (GLM's <think>, </think>, <answer>), as llama.cpp and Hugging Face
// tokenizers always do, so an earlier answer's thinking tags stay what the model wrote. A prompt whose
// message texts hold no control-token strings gets exactly the tokens of the whole-string tokenization.

import type { LlamaModel, Token } from "node-llama-cpp";
import { InternalError } from "../core/errors.js";
import { InvalidRequestError } from "./errors.js";
import { MEDIA_MARKER } from "./media-prompt.js";
import type { MediaItem, MediaPromptPart } from "./native.js";

/** Marks message text in a rendered prompt; a noncharacter ("for internal use"), dropped from message text. */
export const SENTINEL = "\uFDD0";

/** A token llama.cpp matches in text only when special-token parsing is on (LLAMA_TOKEN_ATTR_CONTROL or _UNKNOWN). */
interface ControlToken {
    id: number;
    text: string;
    /** The text with a sentinel after its first code point: no longer the token's string. */
    broken: string | undefined;
    lstrip: boolean;
    rstrip: boolean;
}

/** A piece of a rendered prompt: plain text (tokenized with parsing off) or one of the template's control tokens. */
export type PromptPiece = { text: string } | { token: number; text: string };

// C's isspace in the "C" locale, as llama.cpp strips around lstrip/rstrip tokens.
const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

const cache = new WeakMap<LlamaModel, TextTokens>();

export class TextTokens {
    private readonly controls: ControlToken[];
    /** Proper prefixes and suffixes of the control tokens' strings (a message text's edges must not complete one). */
    private readonly prefixes = new Set<string>();
    private readonly suffixes = new Set<string>();
    private readonly longest: number;

    /** The rule for `model`, whose vocabulary strings are `tokens` (tokenizer.ggml.tokens); built once per model. */
    static of(model: LlamaModel, tokens: readonly string[]): TextTokens {
        const held = cache.get(model);
        if (held) return held;
        const t = new TextTokens(model, tokens);
        cache.set(model, t);
        return t;
    }

    private constructor(
        private readonly model: LlamaModel,
        tokens: readonly string[],
    ) {
        const controls: ControlToken[] = [];
        // The attributes llama.cpp settled on at load (it promotes some end-of-turn tokens to control), not the file's types.
        for (let id = 0; id < tokens.length; id++) {
            const a = model.getTokenAttributes(id as Token);
            const text = tokens[id];
            // A string holding the sentinel could be formed by breaking another: such a token is never matched in text.
            if (!(a.control || a.unknown) || !text || text.includes(SENTINEL)) continue;
            const first = String.fromCodePoint(text.codePointAt(0)!);
            const broken = first.length < text.length ? first + SENTINEL + text.slice(first.length) : undefined;
            controls.push({ id, text, broken, lstrip: a.lstrip, rstrip: a.rstrip });
        }
        // llama.cpp's order: longest (in UTF-8 bytes) first.
        this.controls = controls.sort((a, b) => Buffer.byteLength(b.text) - Buffer.byteLength(a.text));
        for (const { text } of controls)
            for (let k = 1; k < text.length; k++) {
                this.prefixes.add(text.slice(0, k));
                this.suffixes.add(text.slice(k));
            }
        this.longest = controls.reduce((m, c) => Math.max(m, c.text.length), 0);
    }

    /**
     * A message's text as the chat template receives it: the sentinel removed, each control-token
     * string broken by one, and one more at an edge that begins or ends like a control token (so the
     * template's text beside it cannot complete one). A control token of a single character cannot be
     * broken: text holding it is refused.
     */
    asText(text: string): string {
        let s = text.includes(SENTINEL) ? text.replaceAll(SENTINEL, "") : text;
        for (const c of this.controls) {
            if (!s.includes(c.text)) continue;
            if (!c.broken)
                throw new InvalidRequestError(
                    `the message text contains ${JSON.stringify(c.text)}, which this model's vocabulary keeps as a control token`,
                );
            // Until none is left: replaceAll misses an occurrence overlapping the one before it.
            while (s.includes(c.text)) s = s.replaceAll(c.text, c.broken);
        }
        if (this.edge(s, this.prefixes, (k) => s.slice(s.length - k))) s += SENTINEL;
        if (this.edge(s, this.suffixes, (k) => s.slice(0, k))) s = SENTINEL + s;
        return s;
    }

    private edge(s: string, parts: Set<string>, end: (k: number) => string): boolean {
        for (let k = 1; k < this.longest && k <= s.length; k++) if (parts.has(end(k))) return true;
        return false;
    }

    /**
     * The rendered prompt cut as llama.cpp's tokenizer cuts it with special-token parsing on, at the
     * control tokens whose strings the template wrote (message text holds none whole): plain text
     * pieces, sentinels removed, and control tokens, in order.
     */
    pieces(rendered: string): PromptPiece[] {
        type Fragment = { start: number; end: number } | ControlToken;
        let fragments: Fragment[] = [{ start: 0, end: rendered.length }];
        for (const c of this.controls) {
            let next = rendered.indexOf(c.text);
            if (next < 0) continue;
            const out: Fragment[] = [];
            for (const f of fragments) {
                if (!("start" in f)) {
                    out.push(f);
                    continue;
                }
                let from = f.start;
                for (;;) {
                    // The next occurrence at or after `from`; fragments come in order, so the search only moves forward.
                    if (next >= 0 && next < from) next = rendered.indexOf(c.text, from);
                    if (next < 0 || next + c.text.length > f.end) break;
                    let left = next;
                    if (c.lstrip) while (left > from && isSpace(rendered[left - 1])) left--;
                    if (left > from) out.push({ start: from, end: left });
                    out.push(c);
                    from = next + c.text.length;
                    if (c.rstrip) while (from < f.end && isSpace(rendered[from])) from++;
                }
                if (from < f.end) out.push({ start: from, end: f.end });
            }
            fragments = out;
        }
        const pieces: PromptPiece[] = [];
        for (const f of fragments) {
            if (!("start" in f)) pieces.push({ token: f.id, text: f.text });
            else {
                const text = rendered.slice(f.start, f.end).replaceAll(SENTINEL, "");
                if (text) pieces.push({ text });
            }
        }
        return pieces;
    }

    /** The tokens of a rendered prompt without media. */
    tokenize(rendered: string): number[] {
        return this.pieces(rendered).flatMap((p) => ("token" in p ? [p.token] : (this.model.tokenize(p.text, false) as number[])));
    }

    /**
     * The rendered prompt with one media marker per item as libmtmd's parts, in order: plain text
     * (parsing off), the template's control tokens by their strings (parsing on), and the media items.
     * libmtmd wraps each item in the model's begin/end-of-media tokens itself.
     */
    mediaParts(rendered: string, items: readonly MediaItem[]): MediaPromptPart[] {
        const parts: MediaPromptPart[] = [];
        let used = 0;
        for (const p of this.pieces(rendered)) {
            if ("token" in p) {
                parts.push({ text: p.text, special: true });
                continue;
            }
            p.text.split(MEDIA_MARKER).forEach((text, k) => {
                if (k > 0) {
                    const item = items[used++];
                    if (!item) throw new InternalError("the prompt has more media markers than media items");
                    parts.push(item);
                }
                if (text) parts.push({ text, special: false });
            });
        }
        if (used !== items.length) throw new InternalError(`the prompt has ${used} media markers for ${items.length} media items`);
        return parts;
    }

    /**
     * A completion's prompt (no chat template): the client wrote all of it, markup included, so its
     * control-token strings are parsed, as llama-server's /completion and vLLM's /v1/completions do.
     * There is no message text in it to keep apart from the template's.
     */
    rawPrompt(prompt: string): number[] {
        return this.model.tokenize(prompt, true) as number[];
    }
}
