// The general.* keys llama.cpp's converter derives from a checkpoint folder (gguf-py's metadata.py
// and utility.py): the recommended sampler from generation_config.json, the model card's front
// matter (README.md), the name heuristics over config.json's _name_or_path and the folder name,
// and the size label from the file's parameter count. Same sources, same precedence, same types.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ValueType } from "../src/core/gguf/constants.js";
import { Metadata } from "../src/core/gguf/metadata.js";
import { SAMPLING_KEYS } from "../src/core/gguf/sampling-keys.js";
import { UserError } from "../src/core/errors.js";
import { frontMatterText, parseFrontMatter, Unreadable, type FrontMatter, type YamlValue } from "./front-matter.js";
import type { Json } from "./hparams.js";

type Entry = Record<string, YamlValue>;

/** What metadata.py's Metadata holds (authorship fields; the sampler is kept apart). */
interface CardFields {
    name?: YamlValue;
    author?: YamlValue;
    version?: YamlValue;
    organization?: YamlValue;
    finetune?: YamlValue;
    basename?: YamlValue;
    description?: YamlValue;
    size_label?: YamlValue;
    source_url?: YamlValue;
    source_doi?: YamlValue;
    source_uuid?: YamlValue;
    source_repo_url?: YamlValue;
    license?: YamlValue;
    license_name?: YamlValue;
    license_link?: YamlValue;
    base_models?: Entry[];
    datasets?: Entry[];
    tags?: YamlValue[];
    languages?: YamlValue[];
}

export interface ModelCard {
    fields: CardFields;
    /** general.sampling.* values from generation_config.json (field name -> value). */
    sampling: Map<string, unknown>;
}

const isDecimal = (c: string) => /^\p{Nd}$/u.test(c);
const isAlpha = (c: string) => /^\p{L}$/u.test(c);
const isCased = (c: string) => c.toLowerCase() !== c.toUpperCase();

/** Python's str.islower(): some cased character, none of them upper case. */
function isLower(s: string): boolean {
    return [...s].some(isCased) && s === s.toLowerCase();
}

/** Python's str.title(): a cased character after an uncased one is upper case, the rest lower. */
function title(s: string): string {
    let out = "",
        prevCased = false;
    for (const c of s) {
        if (isCased(c)) {
            out += prevCased ? c.toLowerCase() : c.toUpperCase();
            prevCased = true;
        } else {
            out += c;
            prevCased = false;
        }
    }
    return out;
}

/** metadata.py's id_to_title: words title-cased unless they are acronyms or version numbers. */
export function idToTitle(s: string): string {
    return s
        .trim()
        .replaceAll("-", " ")
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => (isLower(w) && !/^(v\d+(?:\.\d+)*|\d.*)$/.test(w) ? title(w) : w))
        .join(" ");
}

/** Python's float() on a string, or undefined where it raises ValueError. */
function pyFloat(s: string): number | undefined {
    const t = s.trim();
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
    if (/^[-+]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    if (/^[-+]?nan$/i.test(t)) return NaN;
    return undefined;
}

export interface IdComponents {
    full?: string;
    org?: string;
    basename?: string;
    finetune?: string;
    version?: string;
    sizeLabel?: string;
}

/** metadata.py's get_model_id_components: splits `org/Name-Size-Finetune-Version` into its parts. */
export function modelIdComponents(modelId: string | undefined, totalParams: number): IdComponents {
    if (modelId === undefined) return {};
    if (modelId.includes(" ")) return { full: modelId };
    let org: string | undefined, full: string;
    const slash = modelId.indexOf("/");
    if (slash >= 0) {
        org = modelId.slice(0, slash);
        full = modelId.slice(slash + 1);
    } else full = modelId;
    if (org !== undefined && org.length > 0 && org[0] === ".") org = undefined;

    const parts = full.split("-").filter((p) => p.length > 0);
    const types = parts.map(() => new Set<string>());
    for (let i = 0; i < parts.length; i++) {
        let part = parts[i];
        if (/^(v|iter)?\d+([.]\d+)*$/i.test(part)) {
            types[i].add("version");
        } else if (/^(i?q\d(_\w)*|b?fp?(16|32))$/i.test(part)) {
            types[i].add("type");
            parts[i] = part.toUpperCase();
        } else if (i > 0 && /^(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)$/i.test(part)) {
            part = part.replaceAll("_", ".");
            // bloom-7b1 means 7.1B
            if (isDecimal(part[part.length - 1])) part = `${part.slice(0, -2)}.${part[part.length - 1]}${part[part.length - 2]}`;
            if (part.length > 1 && isDecimal(part[part.length - 2]) && "kmbt".includes(part[part.length - 1])) {
                part = part.slice(0, -1) + part[part.length - 1].toUpperCase();
            }
            if (totalParams !== 0) {
                const n = pyFloat(part.slice(0, -1));
                if (n !== undefined) {
                    const labelParams = n * 1000 ** " KMBT".indexOf(part[part.length - 1]);
                    // A label far from the real size is likely a context length (a finetune part).
                    if (
                        (totalParams < 0 && labelParams < Math.floor(Math.abs(totalParams) / 8)) ||
                        (totalParams > 0 && Math.abs(labelParams - totalParams) > Math.floor((7 * totalParams) / 8))
                    ) {
                        types[i].add("finetune");
                        part = part.slice(0, -1) + part[part.length - 1].toLowerCase();
                    }
                }
            }
            if (types[i].size === 0) types[i].add("size_label");
            parts[i] = part;
        } else if (i > 0 && /^(chat|instruct|vision|lora)$/i.test(part)) {
            types[i].add(totalParams < 0 && part.toLowerCase() === "lora" ? "type" : "finetune");
        }
    }
    // Word-based size labels give way to a number-based one.
    if (parts.some((n, i) => types[i].has("size_label") && [...n].some(isDecimal))) {
        parts.forEach((n, i) => {
            if (types[i].has("size_label") && [...n].every(isAlpha)) types[i].delete("size_label");
        });
    }
    let atStart = true;
    parts.forEach((part, i) => {
        const t = types[i];
        if (atStart && ((t.size === 0 && isAlpha(part[0])) || t.has("version"))) t.add("basename");
        else {
            atStart = false;
            if (t.size === 0) t.add("finetune");
        }
    });
    for (let i = parts.length - 1; i >= 0; i--) {
        if (types[i].has("basename") && types[i].size > 1) types[i].delete("basename");
        else break;
    }
    const join = (keep: (t: Set<string>) => boolean, unique = false) => {
        const picked = parts.filter((_, i) => keep(types[i]));
        return (unique ? [...new Set(picked)] : picked).join("-") || undefined;
    };
    let basename = join((t) => t.has("basename"));
    const sizeLabel = join((t) => t.has("size_label"), true);
    const finetune = join((t) => t.has("finetune"));
    const version = join((t) => t.has("version") && !t.has("basename"));
    if (sizeLabel === undefined && finetune === undefined && version === undefined) basename = undefined; // too ambiguous
    return { full, org, basename, finetune, version, sizeLabel };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Python's f"{x:.{d}f}": the exact binary value rounded half to even (JS's toFixed rounds an exact
 * tie such as 24.5 up). toPrecision(100) spells out every digit of the doubles involved here.
 */
function pyFixed(x: number, d: number): string {
    const exact = x.toPrecision(100);
    const [int, frac = ""] = exact.split(".");
    const kept = frac.slice(0, d),
        rest = frac.slice(d);
    const tie = /^50*$/.test(rest),
        up = rest > "5" && !tie ? true : tie ? Number((d ? kept : int).slice(-1)) % 2 === 1 : false;
    if (!up) return d ? `${int}.${kept}` : int;
    const digits = (BigInt(int + kept) + 1n).toString().padStart(int.length + d, "0");
    return d ? `${digits.slice(0, digits.length - d)}.${digits.slice(digits.length - d)}` : digits;
}

/** utility.py's size_label for a model without experts: 1.5B, 24M, 0.50K. */
export function sizeLabel(totalParams: number): string {
    const [scaled, suffix] =
        totalParams > 1e12
            ? [totalParams * 1e-12, "T"]
            : totalParams > 1e9
              ? [totalParams * 1e-9, "B"]
              : totalParams > 1e6
                ? [totalParams * 1e-6, "M"]
                : [totalParams * 1e-3, "K"];
    const digits = String(roundHalfEven(scaled)).replace(/^0+/, "").length;
    return `${pyFixed(scaled, Math.max(2 - digits, 0))}${suffix}`;
}

async function readGenerationConfig(dir: string): Promise<Json> {
    const path = join(dir, "generation_config.json");
    if (!existsSync(path)) return {};
    try {
        const v = JSON.parse(await readFile(path, "utf8"));
        return v && typeof v === "object" && !Array.isArray(v) ? v : {};
    } catch {
        return {}; // llama.cpp's converter ignores an unreadable generation_config.json too
    }
}

async function readFrontMatter(dir: string): Promise<FrontMatter> {
    const path = join(dir, "README.md");
    if (!existsSync(path)) return {};
    const text = frontMatterText(await readFile(path, "utf8"));
    return text === undefined ? {} : parseFrontMatter(text);
}

/** A card entry's value; one autoglm's YAML subset could not read is an error only here, where it is used. */
function cardValue(card: FrontMatter, key: string): YamlValue | undefined {
    const v = card[key];
    if (v instanceof Unreadable) throw new UserError(`README.md front matter: cannot read "${key}" (${v.reason})`);
    return v;
}

function entriesOf(value: YamlValue | undefined, totalParams: number): Entry[] {
    const ids = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
    return ids.map((id) => {
        if (id && typeof id === "object" && !Array.isArray(id)) return id;
        const e: Entry = {};
        if (typeof id !== "string") return e; // metadata.py logs "not in a known format" and keeps an empty entry
        let c: IdComponents | undefined;
        if (/^(https?|ssh):\/\//.test(id)) {
            e.repo_url = id;
            const m = id.includes("huggingface.co") ? /^https?:\/\/huggingface.co\/([^/]+\/[^/]+)$/.exec(id) : null;
            if (m) c = modelIdComponents(m[1], totalParams);
        } else {
            c = modelIdComponents(id, totalParams);
            if (c.org !== undefined && c.full !== undefined) e.repo_url = `https://huggingface.co/${c.org}/${c.full}`;
        }
        if (c?.full !== undefined) e.name = idToTitle(c.full);
        if (c?.org !== undefined) e.organization = idToTitle(c.org);
        if (c?.version !== undefined) e.version = c.version;
        // key order as metadata.py fills the dict: repo_url comes first only for URLs
        return /^(https?|ssh):\/\//.test(id)
            ? e
            : Object.fromEntries(Object.entries(e).sort(([a], [b]) => (a === "repo_url" ? 1 : b === "repo_url" ? -1 : 0)));
    });
}

/** metadata.py's Metadata.load for a folder, with no override file and no --model-name. */
export async function readModelCard(dir: string, config: Json, folderName: string, totalParams: number): Promise<ModelCard> {
    const card = await readFrontMatter(dir);
    const gen = await readGenerationConfig(dir);
    const f: CardFields = {};
    const use = (field: keyof CardFields, key: string) => {
        if (key in card && f[field] === undefined) (f as Record<string, unknown>)[field] = cardValue(card, key);
    };
    const useArray = (field: "tags" | "languages", key: string) => {
        const v = cardValue(card, key);
        if (v === undefined || v === null) return;
        const cur = f[field] ?? [];
        if (typeof v === "string") cur.push(v);
        else if (Array.isArray(v)) cur.push(...v);
        f[field] = cur;
    };
    for (const [field, key] of [
        ["name", "name"],
        ["author", "author"],
        ["version", "version"],
        ["organization", "organization"],
        ["description", "description"],
        ["finetune", "finetune"],
        ["basename", "basename"],
        ["size_label", "size_label"],
        ["source_url", "url"],
        ["source_doi", "doi"],
        ["source_uuid", "uuid"],
        ["source_repo_url", "repo_url"],
    ] as const) {
        use(field, key);
        use(field, `model_${key}`);
    }
    use("author", "model_creator");
    use("basename", "model_type");
    for (const keys of [
        ["base_model", "base_models", "base_model_sources"],
        ["datasets", "dataset", "dataset_sources"],
    ]) {
        if (!keys.some((k) => k in card)) continue;
        const value = keys.map((k) => cardValue(card, k)).find((v) => v !== undefined);
        if (keys[0] === "base_model") f.base_models ??= [];
        else f.datasets ??= [];
        const list = keys[0] === "base_model" ? f.base_models! : f.datasets!;
        list.push(...entriesOf(value ?? null, totalParams));
    }
    use("license", "license");
    use("license_name", "license_name");
    use("license_link", "license_link");
    useArray("tags", "tags");
    useArray("tags", "pipeline_tag");
    useArray("languages", "languages");
    useArray("languages", "language");

    const fromId = (id: string) => {
        const c = modelIdComponents(id, totalParams);
        if (f.name === undefined && c.full !== undefined) f.name = idToTitle(c.full);
        if (f.organization === undefined && c.org !== undefined) f.organization = idToTitle(c.org);
        if (f.basename === undefined && c.basename !== undefined) f.basename = c.basename;
        if (f.finetune === undefined && c.finetune !== undefined) f.finetune = c.finetune;
        if (f.version === undefined && c.version !== undefined) f.version = c.version;
        if (f.size_label === undefined && c.sizeLabel !== undefined) f.size_label = c.sizeLabel;
    };
    const nameOrPath = config._name_or_path;
    // _name_or_path only when it is a model id (org/name), not a path on someone's disk.
    if (typeof nameOrPath === "string" && nameOrPath.split("/").length - 1 <= 1) fromId(nameOrPath);
    fromId(folderName);
    if (f.name === undefined || f.name === null) f.name = folderName;
    if ((f.size_label === undefined || f.size_label === null) && totalParams > 0) f.size_label = sizeLabel(totalParams);

    const sampling = new Map<string, unknown>();
    for (const { config: field } of SAMPLING_KEYS) {
        const v = field === "penalty_repeat" ? (gen.penalty_repeat ?? gen.repetition_penalty) : gen[field];
        if (v !== undefined && v !== null) sampling.set(field, v);
    }
    return { fields: f, sampling };
}

function text(field: string, v: YamlValue): string {
    if (typeof v !== "string") throw new UserError(`README.md front matter: "${field}" should be text, is ${JSON.stringify(v)}`);
    return v;
}

/** Parameters in a file's tensors, as gguf-py's get_total_parameter_count sums them. */
export function parameterCount(tensors: { shape: number[] }[]): number {
    return tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** `meta` with the card's keys right after general.type, where llama.cpp's converter puts them. */
export function withModelCard(meta: Metadata, card: ModelCard): Metadata {
    const out = new Metadata();
    const rest = [...meta.entries];
    while (rest.length && /^general\.(architecture|type)$/.test(rest[0][0])) out.set(...rest.shift()!);
    writeModelCard(out, card);
    for (const [k, v] of rest) out.set(k, v);
    return out;
}

/** Writes the keys in the order metadata.py's set_gguf_meta_model does. */
export function writeModelCard(meta: Metadata, card: ModelCard): void {
    for (const { config: field, key, type } of SAMPLING_KEYS) {
        if (!card.sampling.has(field)) continue;
        const v = card.sampling.get(field);
        const num = typeof v === "boolean" ? Number(v) : v; // Python packs a bool as the int it is
        if (type === "str") {
            if (typeof v !== "string") throw new UserError(`generation_config.json: "${field}" should be text, is ${JSON.stringify(v)}`);
            meta.str(key, v);
        } else if (type === "i32") {
            if (typeof num !== "number" || !Number.isInteger(num) || num < -(2 ** 31) || num >= 2 ** 31) {
                throw new UserError(`generation_config.json: "${field}" should be a 32-bit integer, is ${JSON.stringify(v)}`);
            }
            meta.i32(key, num);
        } else {
            if (typeof num !== "number")
                throw new UserError(`generation_config.json: "${field}" should be a number, is ${JSON.stringify(v)}`);
            meta.f32(key, num);
        }
    }
    const f = card.fields;
    const str = (key: string, field: string, v: YamlValue | undefined) => {
        if (v !== undefined && v !== null) meta.str(key, text(field, v));
    };
    str("general.name", "name", f.name);
    str("general.author", "author", f.author);
    str("general.version", "version", f.version);
    str("general.organization", "organization", f.organization);
    str("general.finetune", "finetune", f.finetune);
    str("general.basename", "basename", f.basename);
    str("general.description", "description", f.description);
    str("general.size_label", "size_label", f.size_label);
    if (f.license !== undefined && f.license !== null) {
        meta.str(
            "general.license",
            Array.isArray(f.license) ? f.license.map((l) => text("license", l)).join(",") : text("license", f.license),
        );
    }
    str("general.license.name", "license_name", f.license_name);
    str("general.license.link", "license_link", f.license_link);
    str("general.source.url", "url", f.source_url);
    str("general.source.doi", "doi", f.source_doi);
    str("general.source.uuid", "uuid", f.source_uuid);
    str("general.source.repo_url", "repo_url", f.source_repo_url);
    for (const [list, prefix] of [
        [f.base_models, "general.base_model"],
        [f.datasets, "general.dataset"],
    ] as const) {
        if (!list) continue;
        meta.u32(`${prefix}.count`, list.length);
        list.forEach((e, i) => {
            for (const k of ["name", "author", "version", "organization", "description", "url", "doi", "uuid", "repo_url"]) {
                if (k in e) meta.str(`${prefix}.${i}.${k}`, text(`${prefix}.${k}`, e[k]));
            }
        });
    }
    for (const [list, key] of [
        [f.tags, "general.tags"],
        [f.languages, "general.languages"],
    ] as const) {
        if (list?.length)
            meta.array(
                key,
                ValueType.STRING,
                list.map((v) => text(key, v)),
            ); // gguf-py skips empty arrays
    }
}
