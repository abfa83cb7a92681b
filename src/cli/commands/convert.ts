// `autoglm convert <hf-dir>`: Hugging Face safetensors -> text GGUF + mmproj GGUF(s).

import { Command, Option } from "commander";
import { typeFromName } from "../../core/gguf/constants.js";
import { OUT_TYPES, type OutType } from "../../../convert/out-types.js";
import { CONVERTERS } from "../../../convert/arch/index.js";
import { convertModel } from "../../../convert/convert-model.js";
import { ByteProgress } from "../progress.js";
import { formatBytes, formatDuration, table } from "../format.js";
import { withInterrupt } from "../interrupt.js";
import { numberOption } from "../parse.js";

interface Options {
    outtype: string;
    mmprojOuttype: string;
    out?: string;
    force?: boolean;
    threads?: number;
}

export function convertCommand(): Command {
    const archList = CONVERTERS.map((c) => `  ${c.architectures.join(", ")}: ${c.summary}`).join("\n");
    return new Command("convert")
        .description("convert a Hugging Face GLM checkpoint (safetensors) to GGUF: the text model plus vision/audio mmproj files")
        .argument("<hf-dir>", "checkpoint folder (config.json, *.safetensors, tokenizer.json)")
        .addOption(
            new Option("--outtype <type>", "text model type (quantized types use llama-quantize's per-tensor mixtures)")
                .choices(OUT_TYPES)
                .default("q4_0"),
        )
        .addOption(
            new Option("--mmproj-outtype <type>", "vision/audio encoder type").choices(["f16", "bf16", "q8_0", "f32"]).default("f16"),
        )
        .option("--out <dir>", "output folder (default: the checkpoint folder)")
        .option("--force", "overwrite existing output files")
        .option(
            "--threads <n>",
            "encoder worker threads (default: one per core)",
            numberOption("--threads", { integer: true, positive: true }),
        )
        .addHelpText("after", `\nSupported architectures:\n${archList}`)
        .action(async (dir: string, opts: Options) => {
            const started = Date.now();
            const progress = new ByteProgress("convert");
            try {
                const result = await withInterrupt((signal) =>
                    convertModel({
                        dir,
                        outDir: opts.out,
                        force: opts.force,
                        threads: opts.threads,
                        signal,
                        types: { text: opts.outtype as OutType, mmproj: typeFromName(opts.mmprojOuttype)! },
                        onBytes: (done, total) => progress.update(done, total),
                        onWarning: (message) => {
                            progress.stop();
                            process.stderr.write(`autoglm: warning: ${message}\n`);
                        },
                    }),
                );
                progress.stop();
                const rows = result.files.map((f) => [
                    f.role,
                    f.path,
                    opts[f.role === "text" ? "outtype" : "mmprojOuttype"],
                    String(f.tensors),
                    formatBytes(f.bytes),
                    formatDuration(f.seconds * 1000),
                ]);
                process.stdout.write(
                    `${result.architecture}: wrote ${result.files.length} file(s) in ${formatDuration(Date.now() - started)}\n`,
                );
                process.stdout.write(`${table(["role", "file", "type", "tensors", "size", "time"], rows, [3, 4, 5])}\n`);
            } finally {
                progress.stop();
            }
        });
}
