// Glm4vForConditionalGeneration (AutoGLM-Phone-9B, GLM-4.1V): a glm4 text GGUF (with M-RoPE
// sections) plus a vision mmproj with projector `glm4v`. Vision rules from llama.cpp's
// conversion/qwen3vl.py (Glm4VVisionModel) and tools/mtmd/clip.cpp.

import { GgmlType, ValueType, fileTypeFor } from "../../src/core/gguf/constants.js";
import { optionalNumber, requireNumber, textHparams, type Json } from "../hparams.js";
import { UserError } from "../../src/core/errors.js";
import { gatheredTensor, type TensorSource } from "../tensor-source.js";
import { generalMetadata, planTensors } from "./common.js";
import { planGlm4Text } from "./glm4.js";
import { resolveNames, type NameRule } from "./name-table.js";
import type { ArchitectureConverter, HfModel, PlannedFile } from "./types.js";

const VISION_TENSORS: NameRule[] = [
    { hf: "visual.patch_embed.proj.bias", gguf: "v.patch_embd.bias" },
    { hf: "visual.post_conv_layernorm.weight", gguf: "v.norm_embd.weight" },
    { hf: "visual.embeddings.position_embedding.weight", gguf: "v.position_embd.weight" },
    { hf: "visual.blocks.{bid}.norm1.weight", gguf: "v.blk.{bid}.ln1.weight" },
    { hf: "visual.blocks.{bid}.attn.qkv.weight", gguf: "v.blk.{bid}.attn_qkv.weight" },
    { hf: "visual.blocks.{bid}.attn.qkv.bias", gguf: "v.blk.{bid}.attn_qkv.bias", optional: true },
    { hf: "visual.blocks.{bid}.attn.proj.weight", gguf: "v.blk.{bid}.attn_out.weight" },
    { hf: "visual.blocks.{bid}.attn.proj.bias", gguf: "v.blk.{bid}.attn_out.bias", optional: true },
    { hf: "visual.blocks.{bid}.norm2.weight", gguf: "v.blk.{bid}.ln2.weight" },
    { hf: "visual.blocks.{bid}.mlp.gate_proj.weight", gguf: "v.blk.{bid}.ffn_gate.weight" },
    { hf: "visual.blocks.{bid}.mlp.up_proj.weight", gguf: "v.blk.{bid}.ffn_up.weight" },
    { hf: "visual.blocks.{bid}.mlp.down_proj.weight", gguf: "v.blk.{bid}.ffn_down.weight" },
    { hf: "visual.blocks.{bid}.mlp.gate_proj.bias", gguf: "v.blk.{bid}.ffn_gate.bias", optional: true },
    { hf: "visual.blocks.{bid}.mlp.up_proj.bias", gguf: "v.blk.{bid}.ffn_up.bias", optional: true },
    { hf: "visual.blocks.{bid}.mlp.down_proj.bias", gguf: "v.blk.{bid}.ffn_down.bias", optional: true },
    { hf: "visual.post_layernorm.weight", gguf: "v.post_ln.weight" },
    { hf: "visual.downsample.weight", gguf: "mm.patch_merger.weight" },
    { hf: "visual.downsample.bias", gguf: "mm.patch_merger.bias" },
    { hf: "visual.merger.proj.weight", gguf: "mm.model.fc.weight" },
    { hf: "visual.merger.post_projection_norm.weight", gguf: "mm.post_norm.weight" },
    { hf: "visual.merger.post_projection_norm.bias", gguf: "mm.post_norm.bias" },
    { hf: "visual.merger.gate_proj.weight", gguf: "mm.gate.weight" },
    { hf: "visual.merger.up_proj.weight", gguf: "mm.up.weight" },
    { hf: "visual.merger.down_proj.weight", gguf: "mm.down.weight" },
];

const PATCH_EMBED = "visual.patch_embed.proj.weight";
/** transformers' Glm4vImageProcessor defaults (OpenAI CLIP), used when preprocessor_config.json is absent. */
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** Both checkpoint layouts: `model.visual.*` (transformers >= 4.52) and legacy `visual.*`. */
function normalizeVisionName(name: string): string {
    return name.startsWith("model.visual.") ? name.slice("model.".length) : name;
}

/** The Conv3d patch kernel [out, in, 2, kh, kw] becomes two Conv2d kernels, one per temporal slice. */
function patchEmbedSlices(model: HfModel, hfName: string): [TensorSource, TensorSource, number[]] {
    const shape = model.checkpoint.get(hfName).shape;
    if (shape.length !== 5 || shape[2] !== 2)
        throw new UserError(`${hfName} should be a Conv3d kernel with temporal size 2, has shape [${shape}]`);
    const [out, inCh, t, kh, kw] = shape;
    const plane = kh * kw;
    const slice = (ti: number) =>
        gatheredTensor(model.checkpoint, hfName, kw, out * inCh * kh, (o) => {
            const oc = Math.floor(o / plane); // index over (out, in)
            return [(oc * t + ti) * plane, plane];
        });
    return [slice(0), slice(1), [kw, kh, inCh, out]];
}

async function planVision(model: HfModel, type: GgmlType): Promise<PlannedFile> {
    const v: Json = model.config.vision_config;
    if (!v || typeof v !== "object") throw new UserError("config.json has no vision_config");
    const text = textHparams(model.config);
    const depth = requireNumber(v, "vision depth", "depth", "num_hidden_layers");
    const meta = generalMetadata("clip", "mmproj", fileTypeFor(type))
        .bool("clip.has_vision_encoder", true)
        .u32("clip.vision.projection_dim", requireNumber(text, "text hidden size", "hidden_size"))
        .u32("clip.vision.image_size", requireNumber(v, "vision image_size", "image_size"))
        .u32("clip.vision.patch_size", requireNumber(v, "vision patch_size", "patch_size"))
        .u32("clip.vision.embedding_length", requireNumber(v, "vision hidden_size", "hidden_size"))
        .u32("clip.vision.feed_forward_length", requireNumber(v, "vision intermediate_size", "intermediate_size"))
        .u32("clip.vision.block_count", depth)
        .u32("clip.vision.attention.head_count", requireNumber(v, "vision head count", "num_heads", "num_attention_heads"));
    const pre = model.preprocessor ?? {};
    meta.array("clip.vision.image_mean", ValueType.FLOAT32, Array.isArray(pre.image_mean) ? pre.image_mean : CLIP_MEAN);
    meta.array("clip.vision.image_std", ValueType.FLOAT32, Array.isArray(pre.image_std) ? pre.image_std : CLIP_STD);
    meta.str("clip.projector_type", "glm4v");
    const act = String(v.hidden_act ?? "silu").toLowerCase();
    if (act === "silu") meta.bool("clip.use_silu", true);
    else if (act === "gelu") meta.bool("clip.use_gelu", true);
    meta.f32("clip.vision.attention.layer_norm_epsilon", optionalNumber(v, "rms_norm_eps") ?? 1e-5);

    const names = resolveNames(model.checkpoint, VISION_TENSORS, depth, normalizeVisionName);
    const patchName = [...model.checkpoint.tensors.keys()].find((n) => normalizeVisionName(n) === PATCH_EMBED);
    if (!patchName) throw new UserError(`missing tensor ${PATCH_EMBED}`);
    const [slice0, slice1, patchShape] = patchEmbedSlices(model, patchName);
    // Conv kernels must stay F16 or F32 for clip.cpp: F16 only when the whole file is F16.
    const convType = type === GgmlType.F16 ? GgmlType.F16 : GgmlType.F32;
    const forced = (gguf: string) => (/^v\.patch_embd\.weight|^mm\.patch_merger\.weight$/.test(gguf) ? convType : undefined);
    const tensors = [
        { name: "v.patch_embd.weight", shape: patchShape, type: convType, source: slice0 },
        { name: "v.patch_embd.weight.1", shape: patchShape, type: convType, source: slice1 },
        ...planTensors(model, names, type, { forced }),
    ];
    return { role: "vision", metadata: meta, tensors };
}

export const glm4v: ArchitectureConverter = {
    architectures: ["Glm4vForConditionalGeneration"],
    summary: "AutoGLM-Phone-9B / GLM-4.1V: glm4 text GGUF (M-RoPE) + vision mmproj (glm4v)",
    plan: async (model, types) => [await planGlm4Text(model, types.text), await planVision(model, types.mmproj)],
};
