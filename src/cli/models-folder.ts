// autoglm's models folder ($AUTOGLM_MODELS, else ~/.cache/autoglm/models): `autoglm models` lists
// the GGUF files in it, and `-m NAME` finds one there by name, as `ollama run NAME` does.

import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { readGguf, typeNameOf } from "../core/gguf/reader.js";

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

/**
 * `-m` as given when it is a path that exists or names no model in the folder; else the folder's
 * file called NAME or NAME.gguf.
 */
export function resolveModelName(given: string): string {
    if (existsSync(given) || given.includes("/") || given.includes("\\")) return given;
    const dir = modelsFolder();
    for (const name of [given, `${given}.gguf`]) {
        const p = join(dir, name);
        if (existsSync(p) && statSync(p).isFile()) return p;
    }
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
