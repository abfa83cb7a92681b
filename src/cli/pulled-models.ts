// The models `autoglm pull` put in the models folder: one folder per repository and type,
// <models>/<owner>/<name>/<QUANT>/, holding the model GGUF, its encoder (mmproj) when it has one,
// and autoglm-model.json, the record that pairs them. The folder appears whole (a rename of the
// finished staging folder), so a folder with a record is a finished pull and nothing else is.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../core/errors.js";

export const RECORD = "autoglm-model.json";

export interface PullRecord {
    /** owner/name as the Hub spells it. */
    repo: string;
    commit: string;
    endpoint: string;
    /** The text model's type: Q4_K_M, Q8_0, F16... */
    quant: string;
    /** "checkpoint": converted by autoglm from safetensors; "gguf": a GGUF repository's files. */
    source: "checkpoint" | "gguf";
    /** File names in the folder. */
    model: string;
    mmproj?: string;
    /** Further parts of a split GGUF (the first is `model`). */
    parts?: string[];
    pulledAt: string;
}

export interface PulledModel extends PullRecord {
    /** owner/name:QUANT, the name that always finds it. */
    name: string;
    dir: string;
    modelPath: string;
    mmprojPath?: string;
}

export function variantDir(folder: string, repo: string, quant: string): string {
    const [owner, name] = repo.split("/") as [string, string];
    return join(folder, owner, name, quant);
}

function readRecord(dir: string): PulledModel | undefined {
    const p = join(dir, RECORD);
    if (!existsSync(p)) return undefined;
    let r: PullRecord;
    try {
        r = JSON.parse(readFileSync(p, "utf8"));
    } catch (e) {
        throw new UserError(`${p} is not a readable record (${(e as Error).message}): autoglm rm the model and pull it again`);
    }
    if (
        typeof r.repo !== "string" ||
        typeof r.model !== "string" ||
        typeof r.quant !== "string" ||
        /[/\\]/.test(r.model + (r.mmproj ?? ""))
    )
        throw new UserError(`${p} is not a record autoglm wrote: autoglm rm the model and pull it again`);
    return {
        ...r,
        name: `${r.repo}:${r.quant}`,
        dir,
        modelPath: join(dir, r.model),
        mmprojPath: r.mmproj ? join(dir, r.mmproj) : undefined,
    };
}

const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
const visible = (n: string) => !n.startsWith(".");

/** Every finished pull in the folder, sorted by name. */
export function pulledModels(folder: string): PulledModel[] {
    if (!isDir(folder)) return [];
    const out: PulledModel[] = [];
    for (const owner of readdirSync(folder).filter(visible)) {
        const o = join(folder, owner);
        if (!isDir(o)) continue;
        for (const name of readdirSync(o).filter(visible)) {
            const n = join(o, name);
            if (!isDir(n)) continue;
            for (const quant of readdirSync(n).filter(visible)) {
                const r = isDir(join(n, quant)) ? readRecord(join(n, quant)) : undefined;
                if (r) out.push(r);
            }
        }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The pulled model a name means: owner/name[:QUANT] or name[:QUANT], in any case. Undefined when
 * none matches; a name that matches several (two types, or two owners) is a one-line error listing them.
 */
export function findPulled(folder: string, given: string): PulledModel | undefined {
    const m = /^(?:([^/:]+)\/)?([^/:]+)(?::([^/:]+))?$/.exec(given.trim());
    if (!m) return undefined;
    const [, owner, name, quant] = m;
    const lc = (s?: string) => s?.toLowerCase();
    const hits = pulledModels(folder).filter((p) => {
        const [o, n] = p.repo.split("/");
        return lc(n) === lc(name) && (!owner || lc(o) === lc(owner)) && (!quant || lc(p.quant) === lc(quant));
    });
    if (hits.length <= 1) return hits[0];
    throw new UserError(`${given} could mean ${hits.map((h) => h.name).join(" or ")}: give one of those names`);
}
