// Reads a GGUF file's header, metadata and tensor table, checking every count and offset against
// the file size, so a truncated or corrupt file is reported instead of crashing a loader later.
// Every length is checked before it is read: a lying string or array length in a file of any
// size is refused by name, and the header is never read past MAX_HEADER_BYTES.

import { open, stat } from "node:fs/promises";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, ValueType, alignUp } from "./constants.js";
import { Metadata, type MetaValue, type Scalar, type ScalarType } from "./metadata.js";
import { ALL_TYPES } from "./type-table.js";
import { UserError } from "../errors.js";

export class GgufFormatError extends UserError {}

export interface GgufTensor {
    name: string;
    shape: number[];
    type: number;
    /** Absolute byte offset of the tensor's data in the file. */
    offset: number;
    bytes: number;
}

export interface GgufFile {
    path: string;
    version: number;
    metadata: Metadata;
    tensors: GgufTensor[];
    dataOffset: number;
    fileSize: number;
    alignment: number;
}

class OutOfData extends Error {}

/** Far above a real header (GLM's 151k-token vocabulary and merges take about 10 MB). */
export const MAX_HEADER_BYTES = 512 << 20;
/** One metadata string (a token, a chat template); V8 cannot hold strings near 2^29 characters anyway. */
export const MAX_STRING_BYTES = 64 << 20;

class Cursor {
    pos = 0;
    /** What is being read, for the error a lying length gets. */
    what = "the header";
    constructor(
        private buf: Buffer,
        private readonly fileSize: number,
    ) {}
    need(n: number) {
        if (this.pos + n > this.fileSize)
            throw new GgufFormatError(
                `${this.what} needs ${n} bytes at offset ${this.pos}, past the end of the ${this.fileSize}-byte file (a lying length, or truncated)`,
            );
        if (this.pos + n > this.buf.length) throw new OutOfData();
    }
    u8() {
        this.need(1);
        return this.buf.readUInt8(this.pos++);
    }
    u32() {
        this.need(4);
        const v = this.buf.readUInt32LE(this.pos);
        this.pos += 4;
        return v;
    }
    u64(): number {
        this.need(8);
        const v = this.buf.readBigUInt64LE(this.pos);
        this.pos += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufFormatError(`implausible 64-bit count ${v}`);
        return Number(v);
    }
    string(): string {
        const n = this.u64();
        if (n > MAX_STRING_BYTES) throw new GgufFormatError(`${this.what} declares a ${n}-byte string (at most ${MAX_STRING_BYTES})`);
        this.need(n);
        const s = this.buf.toString("utf8", this.pos, this.pos + n);
        this.pos += n;
        return s;
    }
    scalar(type: number): Scalar {
        const b = this.buf;
        const read = <T>(n: number, f: (o: number) => T): T => {
            this.need(n);
            const v = f(this.pos);
            this.pos += n;
            return v;
        };
        switch (type) {
            case ValueType.UINT8:
                return read(1, (o) => b.readUInt8(o));
            case ValueType.INT8:
                return read(1, (o) => b.readInt8(o));
            case ValueType.BOOL:
                return read(1, (o) => b.readUInt8(o) !== 0);
            case ValueType.UINT16:
                return read(2, (o) => b.readUInt16LE(o));
            case ValueType.INT16:
                return read(2, (o) => b.readInt16LE(o));
            case ValueType.UINT32:
                return read(4, (o) => b.readUInt32LE(o));
            case ValueType.INT32:
                return read(4, (o) => b.readInt32LE(o));
            case ValueType.FLOAT32:
                return read(4, (o) => b.readFloatLE(o));
            case ValueType.UINT64:
                return read(8, (o) => b.readBigUInt64LE(o));
            case ValueType.INT64:
                return read(8, (o) => b.readBigInt64LE(o));
            case ValueType.FLOAT64:
                return read(8, (o) => b.readDoubleLE(o));
            case ValueType.STRING:
                return this.string();
            default:
                throw new GgufFormatError(`unknown metadata value type ${type}`);
        }
    }
}

/** Bytes of the smallest encoding of one array item of `type` (a string is at least its u64 length). */
const MIN_ITEM_BYTES: Partial<Record<number, number>> = {
    [ValueType.UINT8]: 1,
    [ValueType.INT8]: 1,
    [ValueType.BOOL]: 1,
    [ValueType.UINT16]: 2,
    [ValueType.INT16]: 2,
    [ValueType.UINT32]: 4,
    [ValueType.INT32]: 4,
    [ValueType.FLOAT32]: 4,
    [ValueType.UINT64]: 8,
    [ValueType.INT64]: 8,
    [ValueType.FLOAT64]: 8,
    [ValueType.STRING]: 8,
};

function parse(buf: Buffer, path: string, fileSize: number): GgufFile {
    const c = new Cursor(buf, fileSize);
    if (buf.length < 4 || buf.readUInt32LE(0) !== GGUF_MAGIC) throw new GgufFormatError(`${path} is not a GGUF file (bad magic)`);
    c.pos = 4;
    const version = c.u32();
    if (version !== 2 && version !== 3) throw new GgufFormatError(`${path}: unsupported GGUF version ${version}`);
    const tensorCount = c.u64();
    const kvCount = c.u64();
    // Every KV takes at least 12 bytes and every tensor info at least 24: reject absurd counts early.
    if (kvCount * 12 + tensorCount * 24 > fileSize)
        throw new GgufFormatError(`${path}: header counts exceed the file size (corrupt or truncated)`);
    const metadata = new Metadata();
    for (let i = 0; i < kvCount; i++) {
        c.what = `${path}: metadata key ${i}`;
        const key = c.string();
        c.what = `${path}: metadata ${key}`;
        const type = c.u32();
        let value: MetaValue;
        if (type === ValueType.ARRAY) {
            const itemType = c.u32();
            if (itemType === ValueType.ARRAY) throw new GgufFormatError(`${path}: nested arrays are not supported (key ${key})`);
            const n = c.u64();
            const itemBytes = MIN_ITEM_BYTES[itemType];
            if (itemBytes === undefined) throw new GgufFormatError(`${path}: array ${key} has unknown item type ${itemType}`);
            if (n * itemBytes > fileSize - c.pos)
                throw new GgufFormatError(`${path}: array ${key} claims ${n} items, more than the file holds`);
            const values: Scalar[] = new Array(n);
            for (let j = 0; j < n; j++) values[j] = c.scalar(itemType);
            value = { type: ValueType.ARRAY, itemType: itemType as ScalarType, values };
        } else {
            value = { type: type as ScalarType, value: c.scalar(type) };
        }
        if (metadata.get(key)) throw new GgufFormatError(`${path}: metadata key ${key} appears twice`);
        metadata.set(key, value);
    }
    const alignment = alignmentOf(metadata, path);
    const tensors: GgufTensor[] = [];
    for (let i = 0; i < tensorCount; i++) {
        c.what = `${path}: tensor info ${i}`;
        const name = c.string();
        c.what = `${path}: tensor ${name}`;
        const nDims = c.u32();
        if (nDims < 1 || nDims > 4) throw new GgufFormatError(`${path}: tensor ${name} has ${nDims} dimensions`);
        const shape: number[] = [];
        for (let d = 0; d < nDims; d++) shape.push(c.u64());
        const type = c.u32();
        const offset = c.u64();
        if (offset % alignment !== 0)
            throw new GgufFormatError(`${path}: tensor ${name} has offset ${offset}, not a multiple of the alignment ${alignment}`);
        const layout = ALL_TYPES[type];
        if (!layout) throw new GgufFormatError(`${path}: tensor ${name} has unknown type ${type}`);
        const [, blockSize, blockBytes] = layout;
        if (shape[0] % blockSize !== 0)
            throw new GgufFormatError(`${path}: tensor ${name} row length ${shape[0]} is not a multiple of ${blockSize}`);
        const elements = shape.reduce((a, b) => a * b, 1);
        if (!Number.isSafeInteger(elements)) throw new GgufFormatError(`${path}: tensor ${name} shape [${shape}] is implausibly large`);
        tensors.push({ name, shape, type, offset, bytes: (elements / blockSize) * blockBytes });
    }
    const dataOffset = alignUp(c.pos, alignment);
    for (const t of tensors) {
        t.offset += dataOffset;
        if (t.offset + t.bytes > fileSize) {
            throw new GgufFormatError(
                `${path}: tensor ${t.name} ends at byte ${t.offset + t.bytes} but the file has ${fileSize} bytes (truncated?)`,
            );
        }
    }
    return { path, version, metadata, tensors, dataOffset, fileSize, alignment };
}

/** general.alignment as gguf.cpp reads it: a uint32 power of two, or the default when absent. */
function alignmentOf(metadata: Metadata, path: string): number {
    const v = metadata.get("general.alignment");
    if (!v) return GGUF_DEFAULT_ALIGNMENT;
    const a = v.type === ValueType.UINT32 ? Number(v.value) : 0;
    if (v.type !== ValueType.UINT32) throw new GgufFormatError(`${path}: general.alignment must be a uint32`);
    if (a === 0 || (a & (a - 1)) !== 0) throw new GgufFormatError(`${path}: general.alignment is ${a}, not a power of two`);
    return a;
}

/** Reads and validates the header of a GGUF file without loading tensor data. */
export async function readGguf(path: string): Promise<GgufFile> {
    const { size } = await stat(path);
    const fh = await open(path, "r");
    try {
        let want = Math.min(size, 4 << 20, MAX_HEADER_BYTES);
        for (;;) {
            const buf = Buffer.alloc(want);
            const { bytesRead } = await fh.read(buf, 0, want, 0);
            if (bytesRead < want) throw new GgufFormatError(`${path}: could read only ${bytesRead} of ${want} bytes`);
            try {
                return parse(buf, path, size);
            } catch (e) {
                if (!(e instanceof OutOfData)) throw e;
                if (want >= size) throw new GgufFormatError(`${path}: file ends inside the GGUF header (truncated)`);
                if (want >= MAX_HEADER_BYTES)
                    throw new GgufFormatError(`${path}: the GGUF header is larger than ${MAX_HEADER_BYTES >> 20} MiB (corrupt?)`);
                want = Math.min(size, want * 4, MAX_HEADER_BYTES);
            }
        }
    } finally {
        await fh.close();
    }
}

export function typeNameOf(type: number): string {
    return ALL_TYPES[type]?.[0] ?? `type${type}`;
}
