// `autoglm info <file.gguf>`: architecture, metadata and tensor table of a GGUF file.

import { Command } from "commander";
import { ValueType } from "../../core/gguf/constants.js";
import { readGguf, typeNameOf } from "../../core/gguf/reader.js";
import { checkGgufPath } from "../../core/gguf-path.js";
import { modelSampling, samplingLines } from "../../engine/sampling-defaults.js";
import { validateMmproj, validateTextModel } from "../../core/gguf/validate.js";
import { formatBytes, table } from "../format.js";

const LONG_ARRAY = 8;

function showValue(v: unknown): string {
    if (Array.isArray(v)) {
        const head = v.slice(0, LONG_ARRAY).map((x) => JSON.stringify(typeof x === "bigint" ? x.toString() : x));
        return `[${head.join(", ")}${v.length > LONG_ARRAY ? `, ... (${v.length} items)` : ""}]`;
    }
    if (typeof v === "string") return JSON.stringify(v.length > 120 ? `${v.slice(0, 117)}...` : v);
    return String(v);
}

export function infoCommand(): Command {
    return new Command("info")
        .description("show a GGUF file's architecture, metadata and tensors")
        .argument("<file>", "GGUF file")
        .option("--json", "print everything as JSON (arrays in full)")
        .action(async (file: string, opts: { json?: boolean }) => {
            checkGgufPath(file, "file");
            const g = await readGguf(file);
            const arch = g.metadata.value("general.architecture");
            // A file llama.cpp would crash on is refused here too, by the same rules as chat and describe.
            if (arch === "clip") validateMmproj(g, file);
            else validateTextModel(g, file);
            if (opts.json) {
                const metadata: Record<string, unknown> = {};
                for (const [k, v] of g.metadata.entries) {
                    const raw = v.type === ValueType.ARRAY ? v.values : v.value;
                    metadata[k] = Array.isArray(raw)
                        ? raw.map((x) => (typeof x === "bigint" ? Number(x) : x))
                        : typeof raw === "bigint"
                          ? Number(raw)
                          : raw;
                }
                const s = arch === "clip" ? undefined : modelSampling(g.metadata);
                const out = {
                    file,
                    version: g.version,
                    architecture: arch,
                    fileSize: g.fileSize,
                    alignment: g.alignment,
                    metadata,
                    // What autoglm's commands and llama.cpp's tools sample with when nothing is given.
                    samplingDefaults: s && { ...s.defaults, fromModel: [...s.fromModel], notApplied: s.ignored },
                    tensors: g.tensors.map((t) => ({
                        name: t.name,
                        shape: t.shape,
                        type: typeNameOf(t.type),
                        offset: t.offset,
                        bytes: t.bytes,
                    })),
                };
                process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
                return;
            }
            const params = g.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
            const lines = [
                `file          ${file}`,
                `gguf version  ${g.version}`,
                `architecture  ${arch ?? "(none)"}`,
                `size          ${formatBytes(g.fileSize)}`,
                `tensors       ${g.tensors.length} (${(params / 1e6).toFixed(2)} M parameters)`,
                "",
                ...(arch === "clip" ? [] : [...samplingLines(modelSampling(g.metadata), {}, "sampling defaults"), ""]),
                "metadata:",
                ...[...g.metadata.entries].map(([k, v]) => `  ${k} = ${showValue(v.type === ValueType.ARRAY ? v.values : v.value)}`),
                "",
                table(
                    ["tensor", "shape", "type", "bytes"],
                    g.tensors.map((t) => [t.name, `[${t.shape.join(", ")}]`, typeNameOf(t.type), formatBytes(t.bytes)]),
                    [3],
                ),
            ];
            process.stdout.write(`${lines.join("\n")}\n`);
        });
}
