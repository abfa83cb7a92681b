// `autoglm rm NAME`: removes a model from the models folder: a pulled one (its whole folder: the
// model, its encoder and the record) or a GGUF file in the folder itself. Never a path elsewhere.

import { rm, rmdir } from "node:fs/promises";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { Command } from "commander";
import { UserError } from "../../core/errors.js";
import { formatBytes } from "../format.js";
import { modelFiles, modelsFolder } from "../models-folder.js";
import { findPulled } from "../pulled-models.js";

export function rmCommand(): Command {
    return new Command("rm")
        .alias("remove")
        .description("remove a model from the models folder (a pulled model with its encoder, or a GGUF file there)")
        .argument("<name>", "as autoglm models lists it: owner/name:QUANT (or name when only one is pulled), or a file's name")
        .action(async (name: string) => {
            const folder = modelsFolder();
            const pulled = findPulled(folder, name);
            if (pulled) {
                const bytes = [pulled.modelPath, pulled.mmprojPath, ...(pulled.parts ?? []).map((p) => join(pulled.dir, p))]
                    .filter((p): p is string => Boolean(p))
                    .reduce((n, p) => n + (statSync(p, { throwIfNoEntry: false })?.size ?? 0), 0);
                await rm(pulled.dir, { recursive: true, force: true });
                for (const d of [dirname(pulled.dir), dirname(dirname(pulled.dir))]) await rmdir(d).catch(() => {});
                process.stdout.write(`removed ${pulled.name} (${formatBytes(bytes)})\n`);
                return;
            }
            const file = modelFiles(folder).find((p) => [name, `${name}.gguf`].includes(p.slice(folder.length + 1)));
            if (!file) throw new UserError(`no model ${name} in ${folder} (autoglm models lists them)`);
            const bytes = statSync(file).size;
            await rm(file);
            process.stdout.write(`removed ${file} (${formatBytes(bytes)})\n`);
        });
}
