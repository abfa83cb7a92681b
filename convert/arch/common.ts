// Pieces every architecture's plan shares: the general.* keys of the file's kind (the model-card
// keys are added by the pipeline, convert/model-card.ts) and turning resolved names into tensor
// plans with the right shapes, sources and types.

import { GGML_QUANT_VERSION, GgmlType, type FileType } from "../../src/core/gguf/constants.js";
import { Metadata } from "../../src/core/gguf/metadata.js";
import { floatTypeOf, isMixture, type OutType } from "../out-types.js";
import { tensorType } from "../precision.js";
import { mixtureTypes } from "../quant-mixture.js";
import { permutedRows, storedTensor, type TensorSource } from "../tensor-source.js";
import type { TensorPlan } from "../write-gguf.js";
import type { HfModel } from "./types.js";
import type { ResolvedName } from "./name-table.js";

export function generalMetadata(arch: string, kind: "model" | "mmproj", fileType: FileType): Metadata {
    return new Metadata()
        .str("general.architecture", arch)
        .str("general.type", kind)
        .u32("general.file_type", fileType)
        .u32("general.quantization_version", GGML_QUANT_VERSION);
}

/** ggml shape (innermost first) of a stored tensor. */
export function ggmlShape(model: HfModel, hfName: string): number[] {
    const shape = [...model.checkpoint.get(hfName).shape].reverse();
    return shape.length ? shape : [1];
}

export interface PlanOptions {
    /** Source override for tensors that need a transformation (keyed by GGUF name). */
    sources?: Map<string, TensorSource>;
    /** Type override (keyed by GGUF name), for tensors an architecture pins (conv kernels...). */
    forced?: (gguf: string) => GgmlType | undefined;
}

export function planTensors(model: HfModel, names: ResolvedName[], requested: GgmlType, opts: PlanOptions = {}): TensorPlan[] {
    return names.map(({ hf, gguf }) => {
        const shape = ggmlShape(model, hf);
        const type = opts.forced?.(gguf) ?? tensorType(gguf, shape, requested);
        return { name: gguf, shape, type, source: opts.sources?.get(gguf) ?? storedTensor(model.checkpoint, hf) };
    });
}

/**
 * Tensor plans of a text model written as `out`. A quantized out type is planned as llama-quantize
 * would quantize the f16 file of the same checkpoint: the f16 plan (F32 where conversion keeps F32),
 * then its mixture rules; the values are still encoded from the checkpoint's own, unrounded ones.
 */
export function planTextTensors(
    model: HfModel,
    names: ResolvedName[],
    out: OutType,
    layerCount: number,
    opts: PlanOptions = {},
): TensorPlan[] {
    if (!isMixture(out)) return planTensors(model, names, floatTypeOf(out), opts);
    const tensors = planTensors(model, names, GgmlType.F16, opts);
    const types = mixtureTypes(tensors, out, layerCount);
    return tensors.map((t, i) => ({ ...t, type: types[i] }));
}

/** Sources that reorder the rows of the q and k projections (weights and biases) by `order`. */
export function permutedQK(model: HfModel, names: ResolvedName[], order: (row: number) => number): Map<string, TensorSource> {
    const sources = new Map<string, TensorSource>();
    for (const { hf, gguf } of names) {
        if (/\.attn_[qk]\.(weight|bias)$/.test(gguf)) sources.set(gguf, permutedRows(model.checkpoint, hf, order));
    }
    return sources;
}
