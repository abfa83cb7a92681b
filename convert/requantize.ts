// `autoglm quantize` as a library call: re-encode the float tensors of an existing GGUF file with
// the same per-tensor rules as conversion, copying all metadata.

import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { GGML_QUANT_VERSION, GgmlType, ValueType, fileTypeFor } from "../src/core/gguf/constants.js";
import { Metadata } from "../src/core/gguf/metadata.js";
import { readGguf, typeNameOf, type GgufTensor } from "../src/core/gguf/reader.js";
import { UserError } from "../src/core/errors.js";
import { keepsSourceType, tensorType } from "./precision.js";
import { EncodePool } from "./quant/pool.js";
import { SOURCE_BYTES, type SourceDtype } from "./quant/codec.js";
import type { TensorSource } from "./tensor-source.js";
import { writeGguf, type TensorPlan } from "./write-gguf.js";

const FLOAT_SOURCES: Partial<Record<number, SourceDtype>> = { [GgmlType.F32]: "F32", [GgmlType.F16]: "F16", [GgmlType.BF16]: "BF16" };

/** Row reader over a float tensor stored in a GGUF file. */
function ggufTensorSource(path: string, t: GgufTensor, dtype: SourceDtype): TensorSource {
    const rowBytes = t.shape[0] * SOURCE_BYTES[dtype];
    return {
        dtype, rowLength: t.shape[0], rows: t.shape.slice(1).reduce((a, b) => a * b, 1),
        async readRows(start, count) {
            const fh = await open(path, "r");
            try {
                const buf = new Uint8Array(count * rowBytes);
                const { bytesRead } = await fh.read(buf, 0, buf.length, t.offset + start * rowBytes);
                if (bytesRead !== buf.length) throw new UserError(`${path} ended while reading ${t.name}`);
                return buf;
            } finally {
                await fh.close();
            }
        },
    };
}

export interface RequantizeOptions {
    input: string;
    output: string;
    type: GgmlType;
    force?: boolean;
    threads?: number;
    signal?: AbortSignal;
    onBytes?: (done: number, total: number) => void;
}

/** Returns the size of the file written. */
export async function requantize(o: RequantizeOptions): Promise<number> {
    if (existsSync(o.output) && !o.force) throw new UserError(`${o.output} already exists (use --force to overwrite)`);
    const g = await readGguf(o.input);
    const quantized = g.tensors.filter((t) => FLOAT_SOURCES[t.type] === undefined);
    if (quantized.length) {
        const names = quantized.slice(0, 3).map((t) => `${t.name} (${typeNameOf(t.type)})`).join(", ");
        throw new UserError(`${o.input} has tensors that are already quantized (${names}${quantized.length > 3 ? ", ..." : ""}); re-quantizing is not supported`);
    }
    const meta = new Metadata();
    for (const [k, v] of g.metadata.entries) meta.set(k, v);
    meta.set("general.file_type", { type: ValueType.UINT32, value: fileTypeFor(o.type) });
    meta.set("general.quantization_version", { type: ValueType.UINT32, value: GGML_QUANT_VERSION });
    const tensors: TensorPlan[] = g.tensors.map((t) => ({
        name: t.name, shape: t.shape,
        type: keepsSourceType(t.name) ? t.type : tensorType(t.name, t.shape, o.type),
        source: ggufTensorSource(o.input, t, FLOAT_SOURCES[t.type]!),
    }));
    const pool = new EncodePool(o.threads);
    try {
        return await writeGguf({ path: o.output, metadata: meta, tensors }, pool, { onBytes: o.onBytes }, o.signal);
    } finally {
        await pool.close();
    }
}
