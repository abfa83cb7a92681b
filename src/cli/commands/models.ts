// `autoglm models` (also `ls`): the models in autoglm's models folder: those `autoglm pull` put
// there (with the encoder recorded beside each) and the GGUF files in the folder itself, with size,
// architecture, type and what each can take in (text, images, audio), read from their headers.
// `-m NAME` finds them by these names.

import { Command } from "commander";
import { describeModelFile, modelFiles, modelsFolder, pairedMmproj, type ModelEntry } from "../models-folder.js";
import { pulledModels } from "../pulled-models.js";
import { formatBytes, table } from "../format.js";
import { join } from "node:path";

interface Row extends Partial<ModelEntry> {
    name: string;
    path: string;
    quant?: string;
    inputs?: string[];
    mmproj?: string;
    repo?: string;
    commit?: string;
    error?: string;
}

/** What a model with this encoder takes in. */
async function inputsWith(mmproj: string | undefined): Promise<string[]> {
    if (!mmproj) return ["text"];
    const e = await describeModelFile(mmproj);
    return ["text", ...(e.kind.includes("vision") ? ["image"] : []), ...(e.kind.includes("audio") ? ["audio"] : [])];
}

export function modelsCommand(): Command {
    return new Command("models")
        .alias("ls")
        .description(
            `list the models in autoglm's models folder ($AUTOGLM_MODELS, else ~/.cache/autoglm/models): pulled ones and GGUF files; -m NAME runs one of them`,
        )
        .option("--json", "print the list as JSON")
        .action(async (opts: { json?: boolean }) => {
            const dir = modelsFolder();
            const rows: Row[] = [];
            for (const p of pulledModels(dir)) {
                try {
                    const m = await describeModelFile(p.modelPath);
                    const files = [p.modelPath, ...(p.parts ?? []).map((x) => join(p.dir, x)), ...(p.mmprojPath ? [p.mmprojPath] : [])];
                    let bytes = 0;
                    for (const f of files) bytes += f === p.modelPath ? m.bytes : (await describeModelFile(f)).bytes;
                    rows.push({
                        ...m,
                        name: p.name,
                        path: p.modelPath,
                        bytes,
                        quant: p.quant,
                        inputs: await inputsWith(p.mmprojPath),
                        mmproj: p.mmprojPath,
                        repo: p.repo,
                        commit: p.commit,
                    });
                } catch (e) {
                    rows.push({ name: p.name, path: p.modelPath, error: (e as Error).message });
                }
            }
            for (const path of modelFiles(dir)) {
                try {
                    const m = await describeModelFile(path);
                    const mmproj = m.kind === "model" ? pairedMmproj(path, dir) : undefined;
                    rows.push({
                        ...m,
                        quant: m.type.toUpperCase(),
                        inputs: m.kind === "model" ? await inputsWith(mmproj) : undefined,
                        mmproj,
                    });
                } catch (e) {
                    rows.push({ name: path.slice(dir.length + 1), path, error: (e as Error).message });
                }
            }
            if (opts.json) {
                process.stdout.write(`${JSON.stringify({ folder: dir, models: rows }, null, 2)}\n`);
                return;
            }
            if (rows.length === 0) {
                process.stdout.write(
                    `no models in ${dir} (autoglm pull zai-org/AutoGLM-Phone-9B downloads one; autoglm convert <hf-dir> --out ${dir} converts one)\n`,
                );
                return;
            }
            const cells = rows.map((e) =>
                e.error
                    ? [e.name, "-", "-", "-", "-", `unreadable: ${e.error}`]
                    : [
                          e.name,
                          formatBytes(e.bytes ?? 0),
                          e.architecture ?? "-",
                          e.kind ?? "-",
                          e.quant ?? "-",
                          e.inputs?.join(", ") ?? "-",
                      ],
            );
            process.stdout.write(`${dir}\n${table(["name", "size", "arch", "kind", "quant", "input"], cells, [1])}\n`);
        });
}
