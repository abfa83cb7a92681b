// Writes safetensors files the way Hugging Face does (8-byte aligned JSON header, tensors in
// header order), sharded with a model.safetensors.index.json when larger than one shard.
// Tensor data is produced chunk by chunk, so a 20 GB checkpoint is never held in memory.

import { open, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type StDtype = "BF16" | "F16" | "F32";
const BYTES: Record<StDtype, number> = { BF16: 2, F16: 2, F32: 4 };

export interface TensorSpec {
    name: string;
    shape: number[];
    dtype: StDtype;
    /** Fills the tensor in chunks: called with (elementOffset, count), returns `count` elements' bytes. */
    fill: (offset: number, count: number) => Uint8Array;
}

const CHUNK_ELEMENTS = 1 << 20;

function tensorBytes(t: TensorSpec): number {
    return t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
}

async function writeShard(path: string, tensors: TensorSpec[], metadata: Record<string, string>): Promise<void> {
    const header: Record<string, unknown> = { __metadata__: metadata };
    let offset = 0;
    for (const t of tensors) {
        const n = tensorBytes(t);
        header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
        offset += n;
    }
    let json = JSON.stringify(header);
    json += " ".repeat((8 - ((json.length + 8) % 8)) % 8);
    const jsonBytes = Buffer.from(json, "utf8");
    const fh = await open(`${path}.partial`, "w");
    try {
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(jsonBytes.length));
        await fh.write(len);
        await fh.write(jsonBytes);
        for (const t of tensors) {
            const elements = t.shape.reduce((a, b) => a * b, 1);
            for (let i = 0; i < elements; i += CHUNK_ELEMENTS) {
                const count = Math.min(CHUNK_ELEMENTS, elements - i);
                const bytes = t.fill(i, count);
                if (bytes.length !== count * BYTES[t.dtype]) throw new Error(`fill for ${t.name} returned ${bytes.length} bytes`);
                await fh.write(bytes);
            }
        }
    } finally {
        await fh.close();
    }
    await rename(`${path}.partial`, path);
}

/** Writes `tensors` into `dir` as model.safetensors, or as shards plus an index past `shardBytes`. */
export async function writeSafetensors(dir: string, tensors: TensorSpec[], shardBytes = 5 * 2 ** 30): Promise<string[]> {
    const metadata = { format: "pt" };
    const shards: TensorSpec[][] = [[]];
    let size = 0;
    for (const t of tensors) {
        const n = tensorBytes(t);
        if (size > 0 && size + n > shardBytes) {
            shards.push([]);
            size = 0;
        }
        shards[shards.length - 1].push(t);
        size += n;
    }
    if (shards.length === 1) {
        await writeShard(join(dir, "model.safetensors"), tensors, metadata);
        return ["model.safetensors"];
    }
    const names = shards.map((_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`);
    const weightMap: Record<string, string> = {};
    for (let i = 0; i < shards.length; i++) {
        await writeShard(join(dir, names[i]), shards[i], metadata);
        for (const t of shards[i]) weightMap[t.name] = names[i];
    }
    const total = tensors.reduce((n, t) => n + tensorBytes(t), 0);
    await writeFile(
        join(dir, "model.safetensors.index.json"),
        `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
    );
    return [...names, "model.safetensors.index.json"];
}
