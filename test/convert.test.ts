// `autoglm convert` end to end through the real CLI on tiny synthetic checkpoints: file layout,
// per-tensor types, data placement, layout equivalence and quantize/convert agreement.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { convert, info, synthesize, type InfoJson } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("convert");
const ckpt = (name: string) => join(root, name);

function byName(i: InfoJson) {
    return new Map(i.tensors.map((t) => [t.name, t]));
}

function tensorBytes(file: string, i: InfoJson, name: string): Buffer {
    const t = byName(i).get(name)!;
    return readFileSync(file).subarray(t.offset, t.offset + t.bytes);
}

beforeAll(async () => {
    await synthesize(ckpt("glm4v"), "glm4v");
    await synthesize(join(root, "legacy", "glm4v"), "glm4v", ["--layout", "4.5x"]);
    await synthesize(ckpt("glm4"), "glm4");
    await synthesize(ckpt("glmasr"), "glmasr");
});

describe("glm4v (AutoGLM-Phone-9B layout)", () => {
    it("writes a glm4 text GGUF with M-RoPE sections and the GLM vocabulary, typed by llama.cpp's q4_0 rules", async () => {
        const { files } = await convert(ckpt("glm4v"), join(root, "q4"), ["--outtype", "q4_0"]);
        const t = await info(files.text);
        expect(t.architecture).toBe("glm4");
        const m = t.metadata;
        expect(m["glm4.rope.dimension_sections"]).toEqual([2, 3, 3, 0]);
        expect(m["glm4.rope.dimension_count"]).toBe(16);
        expect(m["glm4.block_count"]).toBe(2);
        expect(m["glm4.attention.head_count_kv"]).toBe(2);
        expect(m["general.file_type"]).toBe(2);
        expect(m["tokenizer.ggml.model"]).toBe("gpt2");
        expect(m["tokenizer.ggml.pre"]).toBe("glm4");
        const tokens = m["tokenizer.ggml.tokens"] as string[];
        expect(tokens.length).toBe(640);
        expect(tokens[m["tokenizer.ggml.eot_token_id"] as number]).toBe("<|user|>");
        expect(tokens[m["tokenizer.ggml.eos_token_id"] as number]).toBe("<|endoftext|>");
        expect(tokens[639]).toBe("[PAD639]");
        expect(String(m["tokenizer.chat_template"])).toContain("[gMASK]<sop>");
        const types = Object.fromEntries(t.tensors.map((x) => [x.name, x.type]));
        expect(types["token_embd.weight"]).toBe("q4_0");
        expect(types["output.weight"]).toBe("q8_0"); // llama-quantize: Q6_K, which falls back to Q8_0 for rows of 128
        expect(types["blk.0.attn_q.weight"]).toBe("q4_0");
        expect(types["blk.0.attn_q.bias"]).toBe("f32");
        expect(types["blk.1.ffn_up.weight"]).toBe("q4_0");
        expect(types["blk.1.post_ffw_norm.weight"]).toBe("f32");
        expect(t.tensors.length).toBe(3 + 2 * 13);
        expect(byName(t).get("blk.0.ffn_up.weight")!.shape).toEqual([128, 512]);
    });

    it("writes the vision mmproj llama.cpp's clip loader expects", async () => {
        const { files } = await convert(ckpt("glm4v"), join(root, "q8"), ["--outtype", "q8_0", "--mmproj-outtype", "q8_0"]);
        const v = await info(files.vision);
        expect(v.architecture).toBe("clip");
        expect(v.metadata["clip.projector_type"]).toBe("glm4v");
        expect(v.metadata["clip.vision.projection_dim"]).toBe(128);
        expect(v.metadata["clip.use_silu"]).toBe(true);
        const t = byName(v);
        expect(t.get("v.patch_embd.weight")).toMatchObject({ shape: [14, 14, 3, 64], type: "f32" });
        expect(t.get("v.patch_embd.weight.1")).toMatchObject({ shape: [14, 14, 3, 64], type: "f32" });
        expect(t.get("mm.patch_merger.weight")).toMatchObject({ shape: [2, 2, 64, 128], type: "f32" });
        expect(t.get("v.position_embd.weight")).toMatchObject({ shape: [64, 16], type: "f32" });
        expect(t.get("v.blk.1.attn_qkv.weight")).toMatchObject({ shape: [64, 192], type: "q8_0" });
        expect(t.get("mm.down.weight")).toMatchObject({ shape: [256, 128], type: "q8_0" });
        expect(v.tensors.length).toBe(28);
    });

    it("splits the Conv3d patch kernel by temporal slice and permutes q/k rows for M-RoPE", async () => {
        const { files } = await convert(ckpt("glm4v"), join(root, "bf16"), ["--outtype", "bf16", "--mmproj-outtype", "f32"]);
        const st = readFileSync(join(ckpt("glm4v"), "model.safetensors"));
        const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString());
        const data = (name: string) => {
            const [a, b] = header[name].data_offsets;
            const base = 8 + Number(st.readBigUInt64LE(0));
            return st.subarray(base + a, base + b);
        };
        const text = await info(files.text);
        // Untouched BF16 tensors are copied bit for bit.
        expect(
            tensorBytes(files.text, text, "blk.0.attn_v.weight").equals(data("model.language_model.layers.0.self_attn.v_proj.weight")),
        ).toBe(true);
        // q rows within each 32-row head: the 16 rotary rows become evens then odds, the rest stay.
        const q = tensorBytes(files.text, text, "blk.1.attn_q.weight");
        const src = data("model.language_model.layers.1.self_attn.q_proj.weight");
        const row = 128 * 2;
        const order = [0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, ...Array.from({ length: 16 }, (_, i) => 16 + i)];
        for (let h = 0; h < 4; h++) {
            for (let j = 0; j < 32; j++) {
                const out = q.subarray((h * 32 + j) * row, (h * 32 + j + 1) * row);
                const inn = src.subarray((h * 32 + order[j]) * row, (h * 32 + order[j] + 1) * row);
                expect(out.equals(inn), `head ${h} row ${j}`).toBe(true);
            }
        }
        // The q and k biases get the same reordering as their weights' rows (element by element).
        for (const [gguf, hf, heads] of [
            ["blk.0.attn_q.bias", "model.language_model.layers.0.self_attn.q_proj.bias", 4],
            ["blk.1.attn_k.bias", "model.language_model.layers.1.self_attn.k_proj.bias", 2],
        ] as const) {
            const outBias = tensorBytes(files.text, text, gguf); // f32 (biases stay F32)
            const inBias = data(hf); // bf16
            for (let h = 0; h < heads; h++) {
                for (let j = 0; j < 32; j++) {
                    const expected = new Float32Array(new Uint32Array([inBias.readUInt16LE(2 * (h * 32 + order[j])) << 16]).buffer)[0];
                    expect(outBias.readFloatLE(4 * (h * 32 + j)), `${gguf} head ${h} element ${j}`).toBe(expected);
                }
            }
        }
        // Patch kernel slice t of [64, 3, 2, 14, 14] (bf16) -> f32 [64, 3, 14, 14].
        const vis = await info(files.vision);
        const p1 = tensorBytes(files.vision, vis, "v.patch_embd.weight.1");
        const kernel = data("model.visual.patch_embed.proj.weight");
        for (const [o, c, y, x] of [
            [0, 0, 0, 0],
            [5, 2, 13, 7],
            [63, 1, 6, 13],
        ]) {
            const bf = kernel.readUInt16LE(2 * ((((o * 3 + c) * 2 + 1) * 14 + y) * 14 + x));
            const f = p1.readFloatLE(4 * (((o * 3 + c) * 14 + y) * 14 + x));
            const expected = new Float32Array(new Uint32Array([bf << 16]).buffer)[0];
            expect(f).toBe(expected);
        }
    });

    it("converts the transformers 4.5x layout (rope_scaling, model.layers.*, visual.*) to the same tensors as 5.x", async () => {
        const a = await convert(ckpt("glm4v"), join(root, "layout-a"), ["--outtype", "q8_0"]);
        const b = await convert(join(root, "legacy", "glm4v"), join(root, "layout-b"), ["--outtype", "q8_0"]);
        for (const role of ["text", "vision"]) {
            const ia = await info(a.files[role]),
                ib = await info(b.files[role]);
            expect(ia.tensors.map((t) => [t.name, t.type, t.shape])).toEqual(ib.tensors.map((t) => [t.name, t.type, t.shape]));
            for (const t of ia.tensors)
                expect(tensorBytes(a.files[role], ia, t.name).equals(tensorBytes(b.files[role], ib, t.name)), t.name).toBe(true);
        }
    });

    it("quantize of a bf16 GGUF gives the same file as converting straight to q4_0", async () => {
        const bf = await convert(ckpt("glm4v"), join(root, "via-bf16"), ["--outtype", "bf16"]);
        const direct = await convert(ckpt("glm4v"), join(root, "direct"), ["--outtype", "q4_0"]);
        const out = join(root, "via-bf16", "q4.gguf");
        const r = await runCli(["quantize", bf.files.text, out, "--type", "q4_0"]);
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(out).equals(readFileSync(direct.files.text))).toBe(true);
    });
});

describe("glm4 and glmasr", () => {
    it("Glm4ForCausalLM: no M-RoPE keys and no q/k permutation", async () => {
        const { files } = await convert(ckpt("glm4"), join(root, "glm4"), ["--outtype", "bf16"]);
        expect(Object.keys(files)).toEqual(["text"]);
        const t = await info(files.text);
        expect(t.metadata["glm4.rope.dimension_sections"]).toBeUndefined();
        expect(t.metadata["glm4.attention.key_length"]).toBe(32);
        const st = readFileSync(join(ckpt("glm4"), "model.safetensors"));
        const hl = Number(st.readBigUInt64LE(0));
        const [a, b] = JSON.parse(st.subarray(8, 8 + hl).toString())["model.layers.0.self_attn.q_proj.weight"].data_offsets;
        expect(tensorBytes(files.text, t, "blk.0.attn_q.weight").equals(st.subarray(8 + hl + a, 8 + hl + b))).toBe(true);
    });

    it("GlmasrModel: llama text GGUF plus a glma audio mmproj", async () => {
        const { files } = await convert(ckpt("glmasr"), join(root, "asr"), ["--outtype", "q8_0"]);
        const t = await info(files.text);
        expect(t.architecture).toBe("llama");
        expect(t.metadata["llama.rope.dimension_count"]).toBe(32);
        expect(byName(t).has("blk.1.ffn_gate.weight")).toBe(true);
        const a = await info(files.audio);
        expect(a.metadata["clip.projector_type"]).toBe("glma");
        expect(a.metadata["clip.has_audio_encoder"]).toBe(true);
        expect(a.metadata["clip.audio.projector.stack_factor"]).toBe(4);
        const m = byName(a);
        expect(m.get("a.conv1d.1.weight")).toMatchObject({ shape: [3, 128, 64], type: "f16" });
        expect(m.get("a.conv1d.1.bias")).toMatchObject({ shape: [1, 64], type: "f32" });
        expect(m.get("a.position_embd.weight")).toMatchObject({ shape: [64, 1500], type: "f32" });
        expect(m.get("v.boi")).toMatchObject({ shape: [128], type: "f32" });
        expect(m.get("mm.a.mlp.1.weight")).toMatchObject({ shape: [256, 256], type: "f16" });
        expect([...m.keys()].some((n) => n.includes("proj.") && n.startsWith("audio"))).toBe(false);
        expect(a.tensors.length).toBe(4 + 1 + 3 * 15 + 2 + 4 + 2); // 3 encoder layers
    });
});
