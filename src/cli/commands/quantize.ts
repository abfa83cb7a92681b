// `autoglm quantize <in.gguf> <out.gguf> --type q4_0|q8_0|f16|bf16|f32`: re-encodes the float
// tensors of a GGUF already converted, with the same per-tensor rules as `autoglm convert`.

import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { Command, Option } from "commander";
import { GGML_QUANT_VERSION, GgmlType, ValueType, fileTypeFor, typeFromName } from "../../../convert/gguf/constants.js";
import { Metadata } from "../../../convert/gguf/metadata.js";
import { readGguf, typeNameOf, type GgufTensor } from "../../../convert/gguf/reader.js";
import { UserError } from "../../../convert/errors.js";
import { tensorType } from "../../../convert/precision.js";
import { EncodePool } from "../../../convert/quant/pool.js";
import type { SourceDtype } from "../../../convert/quant/codec.js";
import type { TensorSource } from "../../../convert/tensor-source.js";
import { writeGguf, type TensorPlan } from "../../../convert/write-gguf.js";
import { ByteProgress } from "../progress.js";
import { formatBytes, formatDuration } from "../format.js";
import { withInterrupt } from "../interrupt.js";

const FLOAT_SOURCES: Record<number, SourceDtype> = { [GgmlType.F32]: "F32", [GgmlType.F16]: "F16", [GgmlType.BF16]: "BF16" };

/** Row reader over a tensor stored in a GGUF file. */
function ggufTensorSource(path: string, t: GgufTensor, dtype: SourceDtype): TensorSource {
    const elemBytes = dtype === "F32" ? 4 : 2;
    const rowLength = t.shape[0];
    return {
        dtype, rowLength, rows: t.shape.slice(1).reduce((a, b) => a * b, 1),
        async readRows(start, count) {
            const fh = await open(path, "r");
            try {
                const buf = new Uint8Array(count * rowLength * elemBytes);
                await fh.read(buf, 0, buf.length, t.offset + start * rowLength * elemBytes);
                return buf;
            } finally {
                await fh.close();
            }
        },
    };
}

export function quantizeCommand(): Command {
    return new Command("quantize")
        .description("re-encode a GGUF file's float tensors as q4_0, q8_0, f16, bf16 or f32")
        .argument("<in>", "input GGUF file")
        .argument("<out>", "output GGUF file")
        .addOption(new Option("--type <type>", "output type").choices(["q4_0", "q8_0", "f16", "bf16", "f32"]).makeOptionMandatory())
        .option("--force", "overwrite the output file if it exists")
        .option("--threads <n>", "encoder worker threads (default: one per core)", (v) => Number.parseInt(v, 10))
        .action(async (input: string, output: string, opts: { type: string; force?: boolean; threads?: number }) => {
            const target = typeFromName(opts.type)!;
            if (existsSync(output) && !opts.force) throw new UserError(`${output} already exists (use --force to overwrite)`);
            const g = await readGguf(input);
            const started = Date.now();
            const meta = new Metadata();
            for (const [k, v] of g.metadata.entries) meta.set(k, v);
            meta.set("general.file_type", { type: ValueType.UINT32, value: fileTypeFor(target) });
            meta.set("general.quantization_version", { type: ValueType.UINT32, value: GGML_QUANT_VERSION });
            const quantized = g.tensors.filter((t) => !FLOAT_SOURCES[t.type]);
            if (quantized.length) {
                const names = quantized.slice(0, 3).map((t) => `${t.name} (${typeNameOf(t.type)})`).join(", ");
                throw new UserError(`${input} has tensors that are already quantized (${names}${quantized.length > 3 ? ", ..." : ""}); re-quantizing is not supported`);
            }
            const tensors: TensorPlan[] = g.tensors.map((t) => ({
                name: t.name, shape: t.shape, type: tensorType(t.name, t.shape, target),
                source: ggufTensorSource(input, t, FLOAT_SOURCES[t.type]),
            }));
            const pool = new EncodePool(opts.threads);
            const progress = new ByteProgress("quantize");
            try {
                const bytes = await withInterrupt((signal) => writeGguf({ path: output, metadata: meta, tensors }, pool, {
                    onBytes: (done, total) => progress.update(done, total),
                }, signal));
                progress.stop();
                process.stdout.write(`wrote ${output} (${formatBytes(bytes)}, ${opts.type}) in ${formatDuration(Date.now() - started)}\n`);
            } finally {
                progress.stop();
                await pool.close();
            }
        });
}
