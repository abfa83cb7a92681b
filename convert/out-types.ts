// The output types a text model can be written as (`convert --outtype`, `quantize --type`):
// three float types that every weight takes, and the quantized file types of llama-quantize,
// whose per-tensor types come from its mixture rules (quant-mixture.ts).

import { FileType, GgmlType } from "../src/core/gguf/constants.js";

export const OUT_TYPES = ["q4_k_m", "q5_k_m", "q6_k", "q4_0", "q8_0", "f16", "bf16", "f32"] as const;
export type OutType = (typeof OUT_TYPES)[number];

/** The quantized out types: llama-quantize's file types of the same names. */
export type MixtureType = Exclude<OutType, "f16" | "bf16" | "f32">;

const FLOAT_OUT: Partial<Record<OutType, GgmlType>> = { f16: GgmlType.F16, bf16: GgmlType.BF16, f32: GgmlType.F32 };

/** general.file_type (enum llama_ftype) of each out type. */
const FILE_TYPE: Record<OutType, FileType> = {
    q4_k_m: FileType.MOSTLY_Q4_K_M,
    q5_k_m: FileType.MOSTLY_Q5_K_M,
    q6_k: FileType.MOSTLY_Q6_K,
    q4_0: FileType.MOSTLY_Q4_0,
    q8_0: FileType.MOSTLY_Q8_0,
    f16: FileType.MOSTLY_F16,
    bf16: FileType.MOSTLY_BF16,
    f32: FileType.ALL_F32,
};

export function isOutType(s: string): s is OutType {
    return (OUT_TYPES as readonly string[]).includes(s);
}

export function isMixture(t: OutType): t is MixtureType {
    return FLOAT_OUT[t] === undefined;
}

/** The float type every weight gets under a float out type. */
export function floatTypeOf(t: Exclude<OutType, MixtureType>): GgmlType {
    return FLOAT_OUT[t]!;
}

export function fileTypeOf(t: OutType): FileType {
    return FILE_TYPE[t];
}
