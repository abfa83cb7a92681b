// What `autoglm pull` takes from a repository. A safetensors checkpoint (config.json and
// *.safetensors at the top): the files `autoglm convert` reads, converted to the asked type (a tag
// such as :Q8_0 names it, as --outtype does). A GGUF repository (llama.cpp's -hf): the model GGUF of
// the tag's quantization (Q4_K_M without one; every part of a split file) and its mmproj, preferring
// F16 as llama.cpp's Hub manifests do.

import { posix } from "node:path";
import { UserError } from "../../core/errors.js";
import { isOutType, type OutType } from "../../../convert/out-types.js";
import type { RemoteFile, RepoListing } from "../../hub/client.js";

/** The files `autoglm convert` reads besides the weights. */
const CHECKPOINT_FILES = new Set([
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "chat_template.json",
    "README.md",
    "model.safetensors.index.json",
]);

export const DEFAULT_OUTTYPE: OutType = "q4_k_m";
export const DEFAULT_MMPROJ_TYPE = "f16";

export type PullPlan =
    | { kind: "checkpoint"; files: RemoteFile[]; outtype: OutType; quant: string }
    | { kind: "gguf"; files: RemoteFile[]; model: RemoteFile[]; mmproj?: RemoteFile; quant: string };

const isGguf = (f: RemoteFile) => f.path.toLowerCase().endsWith(".gguf");
const isMmproj = (f: RemoteFile) => posix.basename(f.path).toLowerCase().startsWith("mmproj");
const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** The quantization a GGUF's name (or its folder's) says: Q4_K_M, IQ4_XS, F16, BF16... */
export function quantOf(path: string): string | undefined {
    const m = /(?:^|[-_./])((?:I?Q\d(?:_[A-Z0-9]+)*)|F16|BF16|F32)(?=[-_./]|$)/i.exec(path.replace(SPLIT, ".gguf").replace(/\.gguf$/i, ""));
    return m ? m[1]!.toUpperCase() : undefined;
}

function mmprojChoice(files: RemoteFile[]): RemoteFile | undefined {
    const mm = files.filter((f) => isGguf(f) && isMmproj(f));
    for (const q of ["F16", "BF16", "F32", "Q8_0"]) {
        const hit = mm.find((f) => quantOf(posix.basename(f.path)) === q);
        if (hit) return hit;
    }
    return mm.sort((a, b) => a.path.localeCompare(b.path))[0];
}

function ggufPlan(listing: RepoListing, quant: string | undefined): PullPlan {
    const models = listing.files.filter((f) => isGguf(f) && !isMmproj(f));
    const quants = [...new Set(models.map((f) => quantOf(f.path)).filter((q): q is string => Boolean(q)))].sort();
    const want = quant ?? (quants.includes("Q4_K_M") ? "Q4_K_M" : quants.length === 1 ? quants[0] : undefined);
    const matching = want ? models.filter((f) => quantOf(f.path) === want) : models.length === 1 ? models : [];
    if (!matching.length)
        throw new UserError(
            `${listing.repo} has ${quant ? `no ${quant} GGUF` : "several GGUF files and no Q4_K_M"}: name one of ${quants.join(", ") || "(none)"} (autoglm pull ${listing.repo}:${quants[0] ?? "Q4_K_M"})`,
        );
    // One model: a single file, or every part of one split file (its first part is what llama.cpp opens).
    const groups = new Map<string, RemoteFile[]>();
    for (const f of matching) {
        const key = f.path.replace(SPLIT, "");
        groups.set(key, [...(groups.get(key) ?? []), f]);
    }
    if (groups.size > 1)
        throw new UserError(
            `${listing.repo} has ${groups.size} ${want} GGUF models (${[...groups.keys()].join(", ")}): autoglm pull takes one`,
        );
    const parts = [...groups.values()][0]!.sort((a, b) => a.path.localeCompare(b.path));
    const split = SPLIT.exec(parts[0]!.path);
    if (split && Number(split[2]) !== parts.length)
        throw new UserError(
            `${listing.repo}: ${parts[0]!.path} is one of ${Number(split[2])} parts, of which the repository has ${parts.length}`,
        );
    const mmproj = mmprojChoice(listing.files);
    return {
        kind: "gguf",
        model: parts,
        mmproj,
        files: [...parts, ...(mmproj ? [mmproj] : [])],
        quant: want ?? quantOf(parts[0]!.path) ?? "GGUF",
    };
}

export function planPull(listing: RepoListing, tag: string | undefined, outtype: string | undefined): PullPlan {
    const top = listing.files.filter((f) => !f.path.includes("/"));
    const hasCheckpoint = top.some((f) => f.path === "config.json") && top.some((f) => f.path.endsWith(".safetensors"));
    const hasGguf = listing.files.some((f) => isGguf(f) && !isMmproj(f));
    const tagIsGguf = tag !== undefined && hasGguf && listing.files.some((f) => isGguf(f) && quantOf(f.path) === tag);
    if (hasGguf && (!hasCheckpoint || tagIsGguf || (tag && !isOutType(tag.toLowerCase())))) {
        if (outtype) throw new UserError(`--outtype converts a safetensors checkpoint; ${listing.repo} is pulled as the GGUF files it has`);
        return ggufPlan(listing, tag);
    }
    if (!hasCheckpoint)
        throw new UserError(
            `${listing.repo} is neither a safetensors checkpoint (config.json and *.safetensors) nor a GGUF repository: nothing autoglm can run`,
        );
    const fromTag = tag?.toLowerCase();
    if (fromTag && !isOutType(fromTag))
        throw new UserError(`${tag} is not a type autoglm converts to (q4_k_m, q5_k_m, q6_k, q4_0, q8_0, f16, bf16, f32)`);
    if (fromTag && outtype && fromTag !== outtype.toLowerCase())
        throw new UserError(`the tag :${tag} and --outtype ${outtype} disagree: give one`);
    const type = (fromTag ?? outtype?.toLowerCase() ?? DEFAULT_OUTTYPE) as OutType;
    return {
        kind: "checkpoint",
        files: top.filter((f) => CHECKPOINT_FILES.has(f.path) || f.path.endsWith(".safetensors")),
        outtype: type,
        quant: type.toUpperCase(),
    };
}
