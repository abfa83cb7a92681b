// `autoglm quantize <in.gguf> <out.gguf> --type q4_k_m|...|f32`: re-encodes the float tensors of
// a GGUF already converted, with the same per-tensor rules as `autoglm convert`.

import { Command, Option } from "commander";
import { OUT_TYPES, type OutType } from "../../../convert/out-types.js";
import { requantize } from "../../../convert/requantize.js";
import { ByteProgress } from "../progress.js";
import { formatBytes, formatDuration } from "../format.js";
import { withInterrupt } from "../interrupt.js";
import { numberOption } from "../parse.js";

export function quantizeCommand(): Command {
    return new Command("quantize")
        .description(
            "re-encode a GGUF file's float tensors as q4_k_m, q5_k_m, q6_k, q4_0, q8_0, f16, bf16 or f32 (llama-quantize's per-tensor rules)",
        )
        .argument("<in>", "input GGUF file")
        .argument("<out>", "output GGUF file")
        .addOption(new Option("--type <type>", "output type").choices(OUT_TYPES).makeOptionMandatory())
        .option("--force", "overwrite the output file if it exists")
        .option(
            "--threads <n>",
            "encoder worker threads (default: one per core)",
            numberOption("--threads", { integer: true, positive: true }),
        )
        .action(async (input: string, output: string, opts: { type: string; force?: boolean; threads?: number }) => {
            const started = Date.now();
            const progress = new ByteProgress("quantize");
            try {
                const bytes = await withInterrupt((signal) =>
                    requantize({
                        input,
                        output,
                        type: opts.type as OutType,
                        force: opts.force,
                        threads: opts.threads,
                        signal,
                        onBytes: (done, total) => progress.update(done, total),
                    }),
                );
                progress.stop();
                process.stdout.write(`wrote ${output} (${formatBytes(bytes)}, ${opts.type}) in ${formatDuration(Date.now() - started)}\n`);
            } finally {
                progress.stop();
            }
        });
}
