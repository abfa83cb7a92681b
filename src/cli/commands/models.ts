// `autoglm models` (also `ls`): the GGUF files in autoglm's models folder, by name, with size,
// architecture and type, read from their headers. `-m NAME` finds them by these names.

import { Command } from "commander";
import { describeModelFile, modelFiles, modelsFolder, type ModelEntry } from "../models-folder.js";
import { formatBytes, table } from "../format.js";

export function modelsCommand(): Command {
    return new Command("models")
        .alias("ls")
        .description(
            `list the GGUF models in autoglm's models folder ($AUTOGLM_MODELS, else ~/.cache/autoglm/models); -m NAME runs one of them`,
        )
        .option("--json", "print the list as JSON")
        .action(async (opts: { json?: boolean }) => {
            const dir = modelsFolder();
            const entries: (ModelEntry | { name: string; path: string; error: string })[] = [];
            for (const path of modelFiles(dir)) {
                try {
                    entries.push(await describeModelFile(path));
                } catch (e) {
                    entries.push({ name: path.slice(dir.length + 1), path, error: (e as Error).message });
                }
            }
            if (opts.json) {
                process.stdout.write(`${JSON.stringify({ folder: dir, models: entries }, null, 2)}\n`);
                return;
            }
            if (entries.length === 0) {
                process.stdout.write(`no GGUF files in ${dir} (put or convert models there: autoglm convert <hf-dir> --out ${dir})\n`);
                return;
            }
            const rows = entries.map((e) =>
                "error" in e
                    ? [e.name, "-", "-", "-", `unreadable: ${e.error}`]
                    : [e.name, formatBytes(e.bytes), e.architecture, e.kind, e.type],
            );
            process.stdout.write(`${dir}\n${table(["name", "size", "arch", "kind", "type"], rows, [1])}\n`);
        });
}
