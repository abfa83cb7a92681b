// `autoglm quantize` as a library call: re-encode the float tensors of an existing GGUF file,
// copying all metadata. Text models get llama-quantize's per-tensor rules (the same as conversion);
// mmproj files get one type for all weights, as `convert --mmproj-outtype` does.

import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { GGML_QUANT_VERSION, GgmlType, ValueType, fileTypeFor } from "../src/core/gguf/constants.js";
import { fileTypeOf, floatTypeOf, isMixture, type OutType } from "./out-types.js";
import { allowsQuantization, mixtureTypes } from "./quant-mixture.js";
import { Metadata } from "../src/core/gguf/metadata.js";
import { readGguf, typeNameOf, type GgufFile, type GgufTensor } from "../src/core/gguf/reader.js";
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
        dtype,
        rowLength: t.shape[0],
        rows: t.shape.slice(1).reduce((a, b) => a * b, 1),
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

/** Text models: llama-quantize's choice. Under a float type every quantizable weight takes it;
 * what llama-quantize never quantizes (norms, biases...) keeps its stored type either way. */
function textTypes(g: GgufFile, path: string, out: OutType): GgmlType[] {
    if (!isMixture(out)) return g.tensors.map((t) => (allowsQuantization(t.name, t.shape) ? floatTypeOf(out) : (t.type as GgmlType)));
    const arch = g.metadata.value("general.architecture");
    const layers = g.metadata.value(`${arch}.block_count`);
    if (typeof layers !== "number") throw new UserError(`${path} has no ${arch}.block_count, which the ${out} rules need`);
    return mixtureTypes(
        g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type as GgmlType })),
        out,
        layers,
    );
}

/** The single weight type an mmproj file may be re-encoded as (the K mixtures are for text models). */
const MMPROJ_TYPES: Partial<Record<OutType, GgmlType>> = {
    f32: GgmlType.F32,
    f16: GgmlType.F16,
    bf16: GgmlType.BF16,
    q8_0: GgmlType.Q8_0,
    q4_0: GgmlType.Q4_0,
};

function mmprojTypes(tensors: GgufTensor[], out: OutType): GgmlType[] {
    const type = MMPROJ_TYPES[out];
    if (type === undefined) throw new UserError(`${out} is a text-model mixture; an mmproj file takes f16, bf16, f32, q8_0 or q4_0`);
    return tensors.map((t) => (keepsSourceType(t.name) ? (t.type as GgmlType) : tensorType(t.name, t.shape, type)));
}

export interface RequantizeOptions {
    input: string;
    output: string;
    type: OutType;
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
        const names = quantized
            .slice(0, 3)
            .map((t) => `${t.name} (${typeNameOf(t.type)})`)
            .join(", ");
        throw new UserError(
            `${o.input} has tensors that are already quantized (${names}${quantized.length > 3 ? ", ..." : ""}); re-quantizing is not supported`,
        );
    }
    const meta = new Metadata();
    for (const [k, v] of g.metadata.entries) meta.set(k, v);
    const mmproj = g.metadata.value("general.architecture") === "clip";
    const types = mmproj ? mmprojTypes(g.tensors, o.type) : textTypes(g, o.input, o.type);
    const fileType = mmproj ? fileTypeFor(MMPROJ_TYPES[o.type]!) : fileTypeOf(o.type);
    meta.set("general.file_type", { type: ValueType.UINT32, value: fileType });
    meta.set("general.quantization_version", { type: ValueType.UINT32, value: GGML_QUANT_VERSION });
    const tensors: TensorPlan[] = g.tensors.map((t, i) => ({
        name: t.name,
        shape: t.shape,
        type: types[i],
        source: ggufTensorSource(o.input, t, FLOAT_SOURCES[t.type]!),
    }));
    const pool = new EncodePool(o.threads);
    try {
        return await writeGguf({ path: o.output, metadata: meta, tensors }, pool, { onBytes: o.onBytes }, o.signal);
    } finally {
        await pool.close();
    }
}
