// `autoglm synthesize <arch> <out-dir>`: writes a random-weight Hugging Face checkpoint with a
// real layout (tiny for tests, the real 9B shape for benchmarks). Speed does not depend on the
// weight values, so these measure what the real models would do without downloading them.

import { existsSync, readdirSync } from "node:fs";
import { Command, Option } from "commander";
import { UserError } from "../../core/errors.js";
import { SYNTHETIC_ARCHITECTURES, generateCheckpoint, type SyntheticArch } from "../../../models/synthetic/generate.js";
import { formatDuration } from "../format.js";

export function synthesizeCommand(): Command {
    return new Command("synthesize")
        .description("write a deterministic random-weight Hugging Face checkpoint (glm4v, glm4 or glmasr) for tests and benchmarks")
        .addArgument(new Command().createArgument("<arch>", "architecture").choices([...SYNTHETIC_ARCHITECTURES]))
        .argument("<out-dir>", "folder to create")
        .option(
            "--shape <shape>",
            "tiny (tests), full (the real model's shape), bench (glm4: the ~200M CPU benchmark shape), k256 / ragged (glm4: quantizer tests, row lengths multiples of 256 / not of 32)",
            "tiny",
        )
        .option("--seed <n>", "random seed", (v) => Number.parseInt(v, 10), 0)
        .addOption(
            new Option("--layout <layout>", "glm4v: transformers config/weight-name generation").choices(["5.x", "4.5x"]).default("5.x"),
        )
        .option("--force", "write into a folder that is not empty")
        .action(
            async (arch: SyntheticArch, dir: string, opts: { shape: string; seed: number; layout: "5.x" | "4.5x"; force?: boolean }) => {
                if (!Number.isInteger(opts.seed)) throw new UserError("--seed must be an integer");
                if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.force) throw new UserError(`${dir} is not empty (use --force)`);
                const started = Date.now();
                const { files, parameters } = await generateCheckpoint(dir, {
                    arch,
                    shape: opts.shape,
                    seed: opts.seed,
                    layout: opts.layout,
                });
                process.stdout.write(
                    `wrote a random-weight ${arch} checkpoint (${opts.shape}, ${(parameters / 1e6).toFixed(1)} M parameters, seed ${opts.seed}) to ${dir} in ${formatDuration(Date.now() - started)}: ${files.join(", ")}\n`,
                );
            },
        );
}
