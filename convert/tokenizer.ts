// tokenizer.json (byte-level BPE) + tokenizer_config.json -> the GGUF `gpt2` vocabulary, following
// what convert_hf_to_gguf.py writes: tokens in id order padded with [PAD{i}] up to vocab_size,
// token types, merges as "a b" strings, special token ids, add_* flags and the chat template.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ValueType } from "../src/core/gguf/constants.js";
import type { Metadata } from "../src/core/gguf/metadata.js";
import { UserError } from "../src/core/errors.js";
import type { Json } from "./hparams.js";

export enum TokenType {
    NORMAL = 1,
    UNKNOWN = 2,
    CONTROL = 3,
    USER_DEFINED = 4,
    UNUSED = 5,
    BYTE = 6,
}

interface AddedToken {
    id: number;
    content: string;
    special?: boolean;
    normalized?: boolean;
}

export interface TokenizerFiles {
    tokenizerJson: {
        model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
        added_tokens?: AddedToken[];
    };
    tokenizerConfig?: Record<string, unknown>;
    chatTemplate?: string;
}

export interface Vocabulary {
    tokens: string[];
    types: TokenType[];
    merges: string[];
    /** id of each added token by its text. */
    added: Map<string, number>;
}

// biome-ignore lint/suspicious/noExplicitAny: Hugging Face JSON of any shape; each reader checks the fields it uses
async function readJson(path: string, what: string): Promise<any> {
    try {
        return JSON.parse(await readFile(path, "utf8"));
    } catch (e) {
        throw new UserError(`${what} is not valid JSON (${(e as Error).message})`);
    }
}

/** Loads tokenizer.json, tokenizer_config.json and the chat template (chat_template.jinja or inside the config). */
export async function loadTokenizerFiles(dir: string): Promise<TokenizerFiles> {
    const tjPath = join(dir, "tokenizer.json");
    if (!existsSync(tjPath)) throw new UserError(`no tokenizer.json in ${dir}: autoglm needs the fast (byte-level BPE) tokenizer`);
    const tokenizerJson = await readJson(tjPath, "tokenizer.json");
    const cfgPath = join(dir, "tokenizer_config.json");
    const tokenizerConfig = existsSync(cfgPath) ? await readJson(cfgPath, "tokenizer_config.json") : undefined;
    let chatTemplate: string | undefined;
    if (typeof tokenizerConfig?.chat_template === "string") chatTemplate = tokenizerConfig.chat_template;
    else if (existsSync(join(dir, "chat_template.jinja"))) chatTemplate = await readFile(join(dir, "chat_template.jinja"), "utf8");
    else if (existsSync(join(dir, "chat_template.json"))) {
        const t = (await readJson(join(dir, "chat_template.json"), "chat_template.json")).chat_template;
        if (typeof t === "string") chatTemplate = t;
    }
    return { tokenizerJson, tokenizerConfig, chatTemplate };
}

/** convert_hf_to_gguf's does_token_look_special. */
function looksSpecial(t: string): boolean {
    return (
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(t) ||
        (t.startsWith("<|") && t.endsWith("|>")) ||
        (t.startsWith("<\uff5c") && t.endsWith("\uff5c>")) ||
        (t.startsWith("<unused") && t.endsWith(">"))
    );
}

export function buildVocabulary(files: TokenizerFiles, vocabSize: number): Vocabulary {
    const model = files.tokenizerJson.model;
    if (model?.type !== "BPE" || !model.vocab || typeof model.vocab !== "object") {
        throw new UserError(`tokenizer.json: expected a BPE model with a vocab, found ${model?.type ?? "none"}`);
    }
    const tokens: string[] = new Array(vocabSize);
    const types: TokenType[] = new Array(vocabSize);
    for (const [text, id] of Object.entries(model.vocab)) {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
            throw new UserError(`tokenizer.json: token ${JSON.stringify(text)} has id ${id}, outside vocab_size ${vocabSize}`);
        tokens[id] = text;
        types[id] = TokenType.NORMAL;
    }
    const added = new Map<string, number>();
    for (const t of files.tokenizerJson.added_tokens ?? []) {
        if (!Number.isInteger(t.id) || t.id < 0 || t.id >= vocabSize)
            throw new UserError(`tokenizer.json: added token ${JSON.stringify(t.content)} has id ${t.id}, outside vocab_size ${vocabSize}`);
        added.set(t.content, t.id);
        if (t.special || looksSpecial(t.content)) {
            tokens[t.id] = t.content;
            types[t.id] = TokenType.CONTROL;
        } else {
            tokens[t.id] = t.content.replaceAll("\u2581", " ");
            types[t.id] = TokenType.USER_DEFINED;
        }
    }
    for (let i = 0; i < vocabSize; i++) {
        if (tokens[i] === undefined) {
            tokens[i] = `[PAD${i}]`;
            types[i] = TokenType.UNUSED;
        }
    }
    const merges = (model.merges ?? []).map((m) => {
        if (typeof m === "string") return m;
        if (Array.isArray(m) && m.length === 2) return m.map((p) => p.replaceAll(" ", "\u0120")).join(" ");
        throw new UserError("tokenizer.json: merges must be strings or pairs of strings");
    });
    if (merges.length === 0) throw new UserError("tokenizer.json has no merges: not a byte-level BPE tokenizer llama.cpp can load");
    return { tokens, types, merges, added };
}

export interface SpecialTokenRule {
    /** GGUF key suffix: bos, eos, eot, eom, unknown, padding... */
    key: "bos" | "eos" | "eot" | "eom" | "unknown" | "padding" | "seperator" | "mask";
    /** Token text whose added-token id fills the key when tokenizer_config.json does not. */
    text: string;
}

const CONFIG_SPECIALS: [configName: string, key: SpecialTokenRule["key"]][] = [
    ["bos", "bos"],
    ["eos", "eos"],
    ["unk", "unknown"],
    ["sep", "seperator"],
    ["pad", "padding"],
    ["mask", "mask"],
];

/**
 * Writes tokenizer.* keys. Special ids come first from tokenizer_config.json (matched against the
 * added tokens), then from config.json when an int, then from the architecture's own rules.
 */
export function addVocabularyMetadata(
    meta: Metadata,
    vocab: Vocabulary,
    files: TokenizerFiles,
    config: Json,
    pre: string,
    archRules: SpecialTokenRule[],
): void {
    meta.str("tokenizer.ggml.model", "gpt2");
    meta.str("tokenizer.ggml.pre", pre);
    meta.array("tokenizer.ggml.tokens", ValueType.STRING, vocab.tokens);
    meta.array("tokenizer.ggml.token_type", ValueType.INT32, vocab.types);
    meta.array("tokenizer.ggml.merges", ValueType.STRING, vocab.merges);
    const ids = new Map<string, number>();
    const tc = files.tokenizerConfig;
    if (tc && Object.keys(tc).length > 0) {
        for (const [name, key] of CONFIG_SPECIALS) {
            const v = tc[`${name}_token`];
            const text = typeof v === "string" ? v : (v as { content?: string } | undefined)?.content;
            if (typeof text === "string" && vocab.added.has(text) && !ids.has(key)) ids.set(key, vocab.added.get(text)!);
        }
    }
    for (const [name, key] of CONFIG_SPECIALS) {
        const v = config[`${name}_token_id`] ?? config.text_config?.[`${name}_token_id`];
        if (Number.isInteger(v) && !ids.has(key)) ids.set(key, v);
    }
    for (const rule of archRules) {
        const id = vocab.added.get(rule.text);
        if (id === undefined) throw new UserError(`tokenizer.json has no ${rule.text} token, which this architecture needs`);
        if (!ids.has(rule.key)) ids.set(rule.key, id);
    }
    for (const [key, id] of ids) meta.u32(`tokenizer.ggml.${key}_token_id`, id);
    if (tc && Object.keys(tc).length > 0) {
        for (const flag of ["bos", "eos", "sep"]) {
            const v = tc[`add_${flag}_token`];
            if (typeof v === "boolean") meta.bool(`tokenizer.ggml.add_${flag}_token`, v);
        }
    }
    // convert_hf_to_gguf skips the template when tokenizer_config.json is absent; autoglm embeds
    // chat_template.jinja regardless, since a GGUF without its template cannot chat correctly.
    if (files.chatTemplate) meta.str("tokenizer.chat_template", files.chatTemplate);
}

/** The special ids llama.cpp's GLM converters set when the tokenizer files leave them unset. */
export const GLM_SPECIAL_TOKEN_RULES: SpecialTokenRule[] = [
    { key: "eos", text: "<|endoftext|>" },
    { key: "eot", text: "<|user|>" },
    { key: "unknown", text: "<|endoftext|>" },
    { key: "bos", text: "<|endoftext|>" },
];
