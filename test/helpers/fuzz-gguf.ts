// Deterministic hostile GGUFs for the fuzz suite: a good file re-encoded with edited metadata or
// tensor infos (the bytes of each tensor carried over), and byte-level corruptions of a good file
// (truncations, lying lengths, flipped bytes) chosen by a seeded generator.
import { readFileSync, writeFileSync } from "node:fs";
import { ValueType } from "../../src/core/gguf/constants.js";
import { Metadata, type MetaValue } from "../../src/core/gguf/metadata.js";
import { readGguf, type GgufFile } from "../../src/core/gguf/reader.js";
import { encodeHeader, tensorBytes, type TensorInfo } from "../../convert/gguf/writer.js";
import { mulberry32 } from "../../models/synthetic/random.js";

/** A seeded generator (mulberry32, shared with the synthetic checkpoints), so a fuzz run is the same run every time. */
export const seeded = mulberry32;

export interface Source {
    file: GgufFile;
    bytes: Buffer;
}

export async function loadSource(path: string): Promise<Source> {
    return { file: await readGguf(path), bytes: readFileSync(path) };
}

export interface Edit {
    /** Changes the metadata in place (a copy of the source's). */
    metadata?: (m: Metadata) => void;
    /** Changes the tensor infos in place; a tensor's data is its source bytes, cut or zero-padded to its new size. */
    tensors?: (t: (TensorInfo & { from?: string })[]) => void;
    /** Alignment used to lay out the data (defaults to the edited general.alignment, else 32). */
    layout?: number;
}

/** The source file re-encoded with `edit` applied. */
export function rewrite(src: Source, edit: Edit): Buffer {
    const meta = new Metadata();
    for (const [k, v] of src.file.metadata.entries) meta.set(k, structuredClone(v) as MetaValue);
    edit.metadata?.(meta);
    const tensors: (TensorInfo & { from?: string })[] = src.file.tensors.map((t) => ({
        name: t.name,
        shape: [...t.shape],
        type: t.type,
        from: t.name,
    }));
    edit.tensors?.(tensors);
    const declared = meta.value("general.alignment");
    const alignment = edit.layout ?? (typeof declared === "number" && declared > 0 ? declared : 32);
    const { header, offsets, dataBytes } = encodeHeader(meta, tensors, alignment);
    const out = Buffer.alloc(header.length + dataBytes);
    header.copy(out);
    tensors.forEach((t, i) => {
        const orig = src.file.tensors.find((o) => o.name === t.from);
        if (!orig) return;
        const n = Math.min(orig.bytes, tensorBytes(t));
        src.bytes.copy(out, header.length + offsets[i]!, orig.offset, orig.offset + n);
    });
    return out;
}

export const u32 = (v: number): MetaValue => ({ type: ValueType.UINT32, value: v });
export const f32 = (v: number): MetaValue => ({ type: ValueType.FLOAT32, value: v });
export const str = (v: string): MetaValue => ({ type: ValueType.STRING, value: v });

/** Byte offset of the u64 length of metadata key `key` (the key string's own length field is at the returned offset). */
export function keyOffset(bytes: Buffer, key: string): number {
    const needle = Buffer.concat([Buffer.alloc(8), Buffer.from(key)]);
    needle.writeBigUInt64LE(BigInt(key.length), 0);
    const at = bytes.indexOf(needle);
    if (at < 0) throw new Error(`key ${key} not found`);
    return at;
}

/** The source with the u64 at `offset` replaced by `value`. */
export function lieAt(bytes: Buffer, offset: number, value: bigint): Buffer {
    const out = Buffer.from(bytes);
    out.writeBigUInt64LE(value, offset);
    return out;
}

/** Offset of the u64 item count of array key `key` (after the key, the ARRAY type and the item type). */
export function arrayCountOffset(bytes: Buffer, key: string): number {
    return keyOffset(bytes, key) + 8 + key.length + 4 + 4;
}

/** Offset of the u64 length of string value of key `key` (after the key and the STRING type). */
export function stringValueOffset(bytes: Buffer, key: string): number {
    return keyOffset(bytes, key) + 8 + key.length + 4;
}

/** `count` seeded single-byte corruptions inside the first `span` bytes (the header). */
export function flips(bytes: Buffer, rnd: () => number, count: number, span: number): Buffer {
    const out = Buffer.from(bytes);
    for (let i = 0; i < count; i++) out[Math.floor(rnd() * span)] = Math.floor(rnd() * 256);
    return out;
}

export function save(path: string, bytes: Buffer): string {
    writeFileSync(path, bytes);
    return path;
}
