// Streaming safetensors reader: single files and sharded checkpoints (model.safetensors.index.json).
// Only headers are parsed up front; tensor bytes are read on demand by byte range, so a 20 GB
// checkpoint is never held in memory. Every header is checked against its file's real size.

import { existsSync } from "node:fs";
import { open, readFile, readdir, stat, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { SOURCE_BYTES, type SourceDtype } from "./quant/codec.js";
import { UserError } from "../src/core/errors.js";

export class CheckpointError extends UserError {}

export interface StoredTensor {
    name: string;
    file: string;
    dtype: string;
    /** torch order: shape[last] is contiguous. */
    shape: number[];
    /** Absolute byte offset in `file`. */
    offset: number;
    bytes: number;
}

const DTYPE_BYTES: Record<string, number> = {
    F64: 8,
    F32: 4,
    F16: 2,
    BF16: 2,
    I64: 8,
    I32: 4,
    I16: 2,
    I8: 1,
    U8: 1,
    BOOL: 1,
    F8_E4M3: 1,
    F8_E5M2: 1,
};

export function isSourceDtype(d: string): d is SourceDtype {
    return d in SOURCE_BYTES;
}

/** Parses and validates one .safetensors header. */
export async function readSafetensorsHeader(file: string): Promise<StoredTensor[]> {
    const { size } = await stat(file);
    const fh = await open(file, "r");
    try {
        if (size < 8) throw new CheckpointError(`${basename(file)} is truncated: ${size} bytes, not even a header length`);
        const lenBuf = Buffer.alloc(8);
        await fh.read(lenBuf, 0, 8, 0);
        const headerLen = Number(lenBuf.readBigUInt64LE(0));
        if (headerLen <= 1 || 8 + headerLen > size) {
            throw new CheckpointError(`${basename(file)} is corrupt or truncated: header claims ${headerLen} bytes, file has ${size}`);
        }
        const headerBuf = Buffer.alloc(headerLen);
        await fh.read(headerBuf, 0, headerLen, 8);
        let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
        try {
            header = JSON.parse(headerBuf.toString("utf8"));
        } catch {
            throw new CheckpointError(`${basename(file)} is corrupt: its header is not valid JSON`);
        }
        const dataStart = 8 + headerLen;
        const tensors: StoredTensor[] = [];
        for (const [name, info] of Object.entries(header)) {
            if (name === "__metadata__") continue;
            const { dtype, shape, data_offsets } = info ?? ({} as never);
            const elemBytes = DTYPE_BYTES[dtype];
            if (!elemBytes || !Array.isArray(shape) || !Array.isArray(data_offsets) || data_offsets.length !== 2) {
                throw new CheckpointError(`${basename(file)} is corrupt: bad header entry for ${name}`);
            }
            const [begin, end] = data_offsets;
            const expected = shape.reduce((a, b) => a * b, 1) * elemBytes;
            if (end - begin !== expected || begin < 0) {
                throw new CheckpointError(`${basename(file)} is corrupt: ${name} has ${end - begin} bytes for shape [${shape}] ${dtype}`);
            }
            if (dataStart + end > size) {
                throw new CheckpointError(`${basename(file)} is truncated: ${name} ends at byte ${dataStart + end}, file has ${size}`);
            }
            tensors.push({ name, file, dtype, shape, offset: dataStart + begin, bytes: end - begin });
        }
        return tensors;
    } finally {
        await fh.close();
    }
}

/** All tensors of a checkpoint folder, with random-access reads. */
export class SafetensorsCheckpoint {
    private handles = new Map<string, FileHandle>();

    private constructor(
        readonly dir: string,
        readonly tensors: Map<string, StoredTensor>,
        readonly files: string[],
    ) {}

    static async open(dir: string): Promise<SafetensorsCheckpoint> {
        const indexPath = join(dir, "model.safetensors.index.json");
        let files: string[];
        let weightMap: Record<string, string> | undefined;
        if (existsSync(indexPath)) {
            let index: { weight_map?: Record<string, string> };
            try {
                index = JSON.parse(await readFile(indexPath, "utf8"));
            } catch {
                throw new CheckpointError(`model.safetensors.index.json in ${dir} is not valid JSON`);
            }
            if (!index.weight_map || typeof index.weight_map !== "object") {
                throw new CheckpointError(`model.safetensors.index.json in ${dir} has no weight_map`);
            }
            weightMap = index.weight_map;
            files = [...new Set(Object.values(weightMap))].sort();
            for (const f of files) {
                if (f.includes("/") || f.includes("\\")) throw new CheckpointError(`index names a shard outside the folder: ${f}`);
                if (!existsSync(join(dir, f))) throw new CheckpointError(`shard ${f} listed in model.safetensors.index.json is missing`);
            }
        } else {
            files = (await readdir(dir)).filter((f) => f.endsWith(".safetensors")).sort();
            if (files.length === 0) throw new CheckpointError(`no .safetensors files in ${dir}`);
        }
        const tensors = new Map<string, StoredTensor>();
        for (const f of files) {
            for (const t of await readSafetensorsHeader(join(dir, f))) {
                if (weightMap && weightMap[t.name] !== undefined && weightMap[t.name] !== f) continue;
                if (tensors.has(t.name)) throw new CheckpointError(`tensor ${t.name} appears in two shards`);
                tensors.set(t.name, t);
            }
        }
        if (weightMap) {
            for (const [name, f] of Object.entries(weightMap)) {
                if (!tensors.has(name)) throw new CheckpointError(`tensor ${name} is listed for ${f} but not stored there`);
            }
        }
        return new SafetensorsCheckpoint(dir, tensors, files);
    }

    get(name: string): StoredTensor {
        const t = this.tensors.get(name);
        if (!t) throw new CheckpointError(`missing tensor ${name}`);
        return t;
    }

    has(name: string): boolean {
        return this.tensors.has(name);
    }

    /** Reads `length` bytes of tensor `name`, starting `start` bytes into its data. */
    async read(name: string, start = 0, length?: number): Promise<Uint8Array> {
        const t = this.get(name);
        const len = length ?? t.bytes - start;
        if (start < 0 || start + len > t.bytes) throw new RangeError(`read past the end of ${name}`);
        let fh = this.handles.get(t.file);
        if (!fh) {
            fh = await open(t.file, "r");
            this.handles.set(t.file, fh);
        }
        const buf = new Uint8Array(len);
        let done = 0;
        while (done < len) {
            const { bytesRead } = await fh.read(buf, done, len - done, t.offset + start + done);
            if (bytesRead === 0) throw new CheckpointError(`${basename(t.file)} ended while reading ${name} (file changed or truncated)`);
            done += bytesRead;
        }
        return buf;
    }

    async close(): Promise<void> {
        for (const fh of this.handles.values()) await fh.close().catch(() => {});
        this.handles.clear();
    }
}
