// autoglm's models folder ($AUTOGLM_MODELS, else ~/.cache/autoglm/models): `autoglm models` lists
// the GGUF files in it and the models `autoglm pull` put there, and `-m NAME` finds one there by
// name, as `ollama run NAME` does, with the encoder (mmproj) that belongs to it.

import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { readGguf, typeNameOf } from "../core/gguf/reader.js";
import { findPulled, RECORD, pulledModels, type PulledModel } from "./pulled-models.js";

export function modelsFolder(): string {
    return process.env.AUTOGLM_MODELS || join(process.env.AUTOGLM_CACHE ?? join(homedir(), ".cache", "autoglm"), "models");
}

/** The GGUF files in the folder (not recursive), sorted by name. */
export function modelFiles(dir = modelsFolder()): string[] {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
    return readdirSync(dir)
        .filter((n) => n.toLowerCase().endsWith(".gguf"))
        .sort()
        .map((n) => join(dir, n))
        .filter((p) => statSync(p).isFile());
}

const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** The folder's own file called NAME or NAME.gguf. */
function folderFile(given: string, dir: string): string | undefined {
    if (given.includes("/") || given.includes("\\")) return undefined;
    return [given, `${given}.gguf`].map((n) => join(dir, n)).find(isFile);
}

/**
 * The encoder that belongs to a model file in the models folder: the one its pull recorded, or,
 * for a file `autoglm convert --out` wrote there (NAME-TYPE.gguf), the only mmproj-NAME-*.gguf
 * beside it. Files elsewhere get none: their encoder is given with --mmproj.
 */
export function pairedMmproj(model: string, dir = modelsFolder()): string | undefined {
    const here = dirname(resolve(model));
    const recorded = pulledModels(dir).find((p) => resolve(p.modelPath) === resolve(model));
    if (recorded) return recorded.mmprojPath;
    if (here !== resolve(dir) || existsSync(join(here, RECORD))) return undefined;
    const m = /^(.+)-[A-Z0-9_]+\.gguf$/i.exec(basename(model));
    if (!m) return undefined;
    const prefix = `mmproj-${m[1]!.toLowerCase()}-`;
    const found = modelFiles(dir).filter((p) => basename(p).toLowerCase().startsWith(prefix));
    return found.length === 1 ? found[0] : undefined;
}

export interface ResolvedModel {
    path: string;
    /** The encoder recorded with it (pulled models) or beside it in the folder (see pairedMmproj). */
    mmproj?: string;
    pulled?: PulledModel;
}

/**
 * What `-m` names: a path that exists (as given), the folder's file NAME or NAME.gguf, or a pulled
 * model (owner/name[:QUANT] or name[:QUANT]); anything else as given, for the path checks to refuse.
 */
export function resolveModel(given: string): ResolvedModel {
    const dir = modelsFolder();
    if (existsSync(given)) return { path: given, mmproj: isFile(given) ? pairedMmproj(given, dir) : undefined };
    const file = folderFile(given, dir);
    if (file) return { path: file, mmproj: pairedMmproj(file, dir) };
    const pulled = findPulled(dir, given);
    if (pulled) return { path: pulled.modelPath, mmproj: pulled.mmprojPath, pulled };
    return { path: given };
}

export function resolveModelName(given: string): string {
    return resolveModel(given).path;
}

/** What `--mmproj` names: a path, the folder's file NAME or NAME.gguf, or a pulled model (its encoder). */
export function resolveMmprojName(given: string): string {
    const dir = modelsFolder();
    if (existsSync(given)) return given;
    const file = folderFile(given, dir);
    if (file) return file;
    const pulled = findPulled(dir, given);
    if (pulled?.mmprojPath) return pulled.mmprojPath;
    return given;
}

export interface ModelEntry {
    name: string;
    path: string;
    bytes: number;
    architecture: string;
    kind: string;
    type: string;
}

/** What one GGUF is, from its header: architecture, model or encoder, and the type most of its bytes are in. */
export async function describeModelFile(path: string): Promise<ModelEntry> {
    const g = await readGguf(path);
    const arch = String(g.metadata.value("general.architecture") ?? "unknown");
    const kind =
        arch === "clip"
            ? `mmproj (${[g.metadata.value("clip.has_vision_encoder") === true ? "vision" : "", g.metadata.value("clip.has_audio_encoder") === true ? "audio" : ""].filter(Boolean).join("+") || "encoder"})`
            : "model";
    const bytesByType = new Map<number, number>();
    for (const t of g.tensors) bytesByType.set(t.type, (bytesByType.get(t.type) ?? 0) + t.bytes);
    const main = [...bytesByType.entries()].sort((a, b) => b[1] - a[1])[0];
    return { name: basename(path), path, bytes: g.fileSize, architecture: arch, kind, type: main ? typeNameOf(main[0]) : "-" };
}
