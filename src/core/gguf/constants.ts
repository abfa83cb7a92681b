// GGUF v3 constants, as defined by ggml's gguf.h / gguf-py's constants.py.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (enum gguf_type). */
export enum ValueType {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
}

/** The tensor types autoglm reads and writes (subset of enum ggml_type). */
export enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    BF16 = 30,
}

/** Block size (elements) and bytes per block for each supported type. */
export const TYPE_LAYOUT: Record<GgmlType, { blockSize: number; blockBytes: number }> = {
    [GgmlType.F32]: { blockSize: 1, blockBytes: 4 },
    [GgmlType.F16]: { blockSize: 1, blockBytes: 2 },
    [GgmlType.BF16]: { blockSize: 1, blockBytes: 2 },
    [GgmlType.Q8_0]: { blockSize: 32, blockBytes: 34 },
    [GgmlType.Q4_0]: { blockSize: 32, blockBytes: 18 },
    [GgmlType.Q5_0]: { blockSize: 32, blockBytes: 22 },
    [GgmlType.Q5_1]: { blockSize: 32, blockBytes: 24 },
    [GgmlType.Q4_K]: { blockSize: 256, blockBytes: 144 },
    [GgmlType.Q5_K]: { blockSize: 256, blockBytes: 176 },
    [GgmlType.Q6_K]: { blockSize: 256, blockBytes: 210 },
};

/** Names ggml uses for tensor types in its tools' output; also accepted on the command line. */
export const TYPE_NAMES: Record<GgmlType, string> = {
    [GgmlType.F32]: "f32",
    [GgmlType.F16]: "f16",
    [GgmlType.BF16]: "bf16",
    [GgmlType.Q8_0]: "q8_0",
    [GgmlType.Q4_0]: "q4_0",
    [GgmlType.Q5_0]: "q5_0",
    [GgmlType.Q5_1]: "q5_1",
    [GgmlType.Q4_K]: "q4_K",
    [GgmlType.Q5_K]: "q5_K",
    [GgmlType.Q6_K]: "q6_K",
};

/** general.file_type values (enum llama_ftype). */
export enum FileType {
    ALL_F32 = 0,
    MOSTLY_F16 = 1,
    MOSTLY_Q4_0 = 2,
    MOSTLY_Q8_0 = 7,
    MOSTLY_Q4_K_M = 15,
    MOSTLY_Q5_K_M = 17,
    MOSTLY_Q6_K = 18,
    MOSTLY_BF16 = 32,
}

export const GGML_QUANT_VERSION = 2;

export function typeFromName(name: string): GgmlType | undefined {
    const lower = name.toLowerCase();
    for (const [t, n] of Object.entries(TYPE_NAMES)) if (n.toLowerCase() === lower) return Number(t) as GgmlType;
    return undefined;
}

export function typeName(t: number): string {
    return TYPE_NAMES[t as GgmlType] ?? `type${t}`;
}

export function isKnownType(t: number): t is GgmlType {
    return t in TYPE_LAYOUT;
}

/** Bytes one row of `rowLength` elements takes in type `t` (ggml_row_size). */
export function rowBytes(t: GgmlType, rowLength: number): number {
    const { blockSize, blockBytes } = TYPE_LAYOUT[t];
    if (rowLength % blockSize !== 0)
        throw new Error(`row length ${rowLength} is not a multiple of ${typeName(t)}'s block size ${blockSize}`);
    return (rowLength / blockSize) * blockBytes;
}

/** general.file_type of a file whose weights are all of type `t` (the plain out types). */
export function fileTypeFor(t: GgmlType): FileType {
    switch (t) {
        case GgmlType.F32:
            return FileType.ALL_F32;
        case GgmlType.F16:
            return FileType.MOSTLY_F16;
        case GgmlType.BF16:
            return FileType.MOSTLY_BF16;
        case GgmlType.Q8_0:
            return FileType.MOSTLY_Q8_0;
        case GgmlType.Q4_0:
            return FileType.MOSTLY_Q4_0;
        case GgmlType.Q6_K:
            return FileType.MOSTLY_Q6_K;
        default:
            throw new Error(`internal: no file type stands for ${typeName(t)} alone`);
    }
}

export function alignUp(n: number, alignment: number): number {
    return Math.ceil(n / alignment) * alignment;
}
