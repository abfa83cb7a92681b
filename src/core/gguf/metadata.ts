// Typed GGUF metadata: an ordered list of key/value pairs with the value type made explicit,
// so a count that happens to be 3 is written as the UINT32 the loader expects, not a guess.

import { ValueType } from "./constants.js";

export type ScalarType = Exclude<ValueType, ValueType.ARRAY>;
export type Scalar = number | bigint | boolean | string;

export type MetaValue = { type: ScalarType; value: Scalar } | { type: ValueType.ARRAY; itemType: ScalarType; values: Scalar[] };

export class Metadata {
    readonly entries = new Map<string, MetaValue>();

    set(key: string, value: MetaValue): this {
        this.entries.set(key, value);
        return this;
    }
    u32(key: string, v: number) {
        return this.set(key, { type: ValueType.UINT32, value: v });
    }
    i32(key: string, v: number) {
        return this.set(key, { type: ValueType.INT32, value: v });
    }
    f32(key: string, v: number) {
        return this.set(key, { type: ValueType.FLOAT32, value: v });
    }
    bool(key: string, v: boolean) {
        return this.set(key, { type: ValueType.BOOL, value: v });
    }
    str(key: string, v: string) {
        return this.set(key, { type: ValueType.STRING, value: v });
    }
    array(key: string, itemType: ScalarType, values: Scalar[]) {
        return this.set(key, { type: ValueType.ARRAY, itemType, values });
    }

    get(key: string): MetaValue | undefined {
        return this.entries.get(key);
    }

    /** The plain JS value of a key (arrays as arrays), or undefined. */
    value(key: string): unknown {
        const v = this.entries.get(key);
        if (!v) return undefined;
        return v.type === ValueType.ARRAY ? v.values : v.value;
    }
}

const SCALAR_SIZE: Partial<Record<ValueType, number>> = {
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
};

/** Appends GGUF-encoded values to a growing buffer. */
export class ByteSink {
    private buf = Buffer.alloc(1 << 16);
    length = 0;

    private reserve(n: number) {
        if (this.length + n <= this.buf.length) return;
        let size = this.buf.length * 2;
        while (size < this.length + n) size *= 2;
        const next = Buffer.alloc(size);
        this.buf.copy(next, 0, 0, this.length);
        this.buf = next;
    }
    u32(v: number) {
        this.reserve(4);
        this.buf.writeUInt32LE(v, this.length);
        this.length += 4;
    }
    u64(v: number | bigint) {
        this.reserve(8);
        this.buf.writeBigUInt64LE(BigInt(v), this.length);
        this.length += 8;
    }
    bytes(b: Uint8Array) {
        this.reserve(b.length);
        this.buf.set(b, this.length);
        this.length += b.length;
    }
    string(s: string) {
        const b = Buffer.from(s, "utf8");
        this.u64(b.length);
        this.bytes(b);
    }
    zeros(n: number) {
        this.reserve(n);
        this.buf.fill(0, this.length, this.length + n);
        this.length += n;
    }

    scalar(type: ScalarType, v: Scalar) {
        if (type === ValueType.STRING) {
            if (typeof v !== "string") throw new TypeError(`expected a string, got ${typeof v}`);
            this.string(v);
            return;
        }
        const size = SCALAR_SIZE[type]!;
        this.reserve(size);
        const b = this.buf,
            o = this.length;
        switch (type) {
            case ValueType.UINT8:
                b.writeUInt8(Number(v), o);
                break;
            case ValueType.INT8:
                b.writeInt8(Number(v), o);
                break;
            case ValueType.BOOL:
                b.writeUInt8(v ? 1 : 0, o);
                break;
            case ValueType.UINT16:
                b.writeUInt16LE(Number(v), o);
                break;
            case ValueType.INT16:
                b.writeInt16LE(Number(v), o);
                break;
            case ValueType.UINT32:
                b.writeUInt32LE(Number(v), o);
                break;
            case ValueType.INT32:
                b.writeInt32LE(Number(v), o);
                break;
            case ValueType.FLOAT32:
                b.writeFloatLE(Number(v), o);
                break;
            case ValueType.UINT64:
                b.writeBigUInt64LE(BigInt(v), o);
                break;
            case ValueType.INT64:
                b.writeBigInt64LE(BigInt(v), o);
                break;
            case ValueType.FLOAT64:
                b.writeDoubleLE(Number(v), o);
                break;
        }
        this.length += size;
    }

    value(v: MetaValue) {
        this.u32(v.type);
        if (v.type === ValueType.ARRAY) {
            this.u32(v.itemType);
            this.u64(v.values.length);
            for (const item of v.values) this.scalar(v.itemType, item);
        } else {
            this.scalar(v.type, v.value);
        }
    }

    result(): Buffer {
        return this.buf.subarray(0, this.length);
    }
}
