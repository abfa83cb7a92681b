// Whole files against llama-quantize: autoglm's `quantize` of an f16 / bf16 GGUF and its `convert
// --outtype` of the checkpoint must give every tensor the type llama-quantize gives it, with the
// same bytes. Checkpoints: glm4 with every row length a multiple of 256 (K blocks used, 8 layers
// for use_more_bits), glm4 with row lengths 80 and 160 (the fallbacks), tiny glm4v (GLM-4.1V text) and,
// for conversion, tiny glmasr (a llama text model).
import { execFileSync } from "node:child_process";
import { openSync, readSync, closeSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readGguf, typeNameOf, type GgufFile } from "../src/core/gguf/reader.js";
import { runCli } from "./helpers/cli.js";
import { llamaToolsDir } from "./helpers/llama-tools.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("quant-mixture");
const MODELS = { k256: ["glm4", "k256"], ragged: ["glm4", "ragged"], glm4v: ["glm4v", "tiny"], glmasr: ["glmasr", "tiny"] } as const;
type Model = keyof typeof MODELS;
/** The models quantized from both f16 and bf16 files (glmasr only goes through conversion). */
const QUANTIZED: Model[] = ["k256", "ragged", "glm4v"];
const gguf: Record<string, { f16: string; bf16: string; mmproj?: string }> = {};

beforeAll(async () => {
    llamaToolsDir();
    for (const [name, [arch, shape]] of Object.entries(MODELS)) {
        await synthesize(join(root, name), arch, ["--shape", shape]);
        const f16 = await convert(join(root, name), join(root, name, "f16"), ["--outtype", "f16"]);
        const bf16 = await convert(join(root, name), join(root, name, "bf16"), ["--outtype", "bf16"]);
        gguf[name] = { f16: f16.files.text, bf16: bf16.files.text, mmproj: f16.files.vision };
    }
});

function llamaQuantize(input: string, output: string, type: string): void {
    execFileSync(join(llamaToolsDir(), "llama-quantize"), [input, output, type, "2"], { stdio: "ignore" });
}

function tensorData(path: string, g: GgufFile, name: string): Buffer {
    const t = g.tensors.find((x) => x.name === name)!;
    const buf = Buffer.alloc(t.bytes);
    const fd = openSync(path, "r");
    try {
        readSync(fd, buf, 0, t.bytes, t.offset);
    } finally {
        closeSync(fd);
    }
    return buf;
}

/** Compares two files tensor by tensor (llama-quantize orders tensors by layer, autoglm as converted). */
async function expectSameTensors(ours: string, reference: string): Promise<Record<string, string>> {
    const a = await readGguf(ours),
        b = await readGguf(reference);
    const typesOf = (g: GgufFile) => Object.fromEntries(g.tensors.map((t) => [t.name, typeNameOf(t.type)]));
    expect(typesOf(a)).toEqual(typesOf(b));
    for (const t of a.tensors) expect(tensorData(ours, a, t.name).equals(tensorData(reference, b, t.name)), t.name).toBe(true);
    expect(a.metadata.value("general.file_type")).toBe(b.metadata.value("general.file_type"));
    return typesOf(a);
}

async function quantizeBoth(model: Model, input: "f16" | "bf16", type: string): Promise<Record<string, string>> {
    const ref = join(root, model, `ref-${input}-${type}.gguf`);
    const ours = join(root, model, `ours-${input}-${type}.gguf`);
    llamaQuantize(gguf[model][input], ref, type);
    const r = await runCli(["quantize", gguf[model][input], ours, "--type", type, "--force"]);
    expect(r.code, r.stderr).toBe(0);
    return expectSameTensors(ours, ref);
}

describe("autoglm quantize gives llama-quantize's file", () => {
    for (const model of QUANTIZED) {
        for (const input of ["f16", "bf16"] as const) {
            it(`${model}, from ${input}: q4_0, q4_k_m, q6_k`, async () => {
                const types = {
                    q4_0: await quantizeBoth(model, input, "q4_0"),
                    q4_k_m: await quantizeBoth(model, input, "q4_k_m"),
                    q6_k: await quantizeBoth(model, input, "q6_k"),
                };
                // Not vacuous: the mixtures differ per tensor as the rules say.
                if (model === "k256") {
                    expect(types.q4_0["output.weight"]).toBe("q6_K");
                    expect(types.q4_0["blk.0.attn_v.weight"]).toBe("q4_0");
                    expect(types.q4_k_m["token_embd.weight"]).toBe("q4_K");
                    const moreBits = [0, 3, 6, 7]; // use_more_bits(i, 8)
                    for (let i = 0; i < 8; i++) {
                        const want = moreBits.includes(i) ? "q6_K" : "q4_K";
                        expect(types.q4_k_m[`blk.${i}.attn_v.weight`]).toBe(want);
                        expect(types.q4_k_m[`blk.${i}.ffn_down.weight`]).toBe(want);
                        expect(types.q4_k_m[`blk.${i}.attn_q.weight`]).toBe("q4_K");
                    }
                    expect(types.q6_k["blk.1.ffn_up.weight"]).toBe("q6_K");
                }
                if (model === "ragged") {
                    expect(types.q4_0["output.weight"]).toBe("f16"); // rows of 80: no 32-block type fits
                    expect(types.q4_0["blk.0.ffn_down.weight"]).toBe("q4_0"); // rows of 160
                    expect(types.q4_k_m["blk.0.ffn_down.weight"]).toBe("q5_0"); // Q4_K -> Q5_0 (rows of 160)
                    expect(types.q4_k_m["blk.1.ffn_down.weight"]).toBe("q8_0"); // last layer: Q6_K -> Q8_0
                    expect(types.q6_k["blk.1.ffn_down.weight"]).toBe("q8_0");
                }
                if (model === "glm4v") expect(types.q4_0["output.weight"]).toBe("q8_0"); // rows of 128: Q6_K -> Q8_0
                for (const t of Object.values(types)) expect(t["blk.0.attn_norm.weight"]).toBe("f32");
            });
        }
    }

    it("k256 from bf16: q5_k_m and q8_0 too", async () => {
        const q5 = await quantizeBoth("k256", "bf16", "q5_k_m");
        expect(q5["blk.1.attn_v.weight"]).toBe("q5_K");
        expect(q5["blk.0.attn_v.weight"]).toBe("q6_K");
        const q8 = await quantizeBoth("k256", "bf16", "q8_0");
        expect(q8["output.weight"]).toBe("q8_0");
    });
});

describe("autoglm convert --outtype gives llama-quantize's file of the bf16 conversion", () => {
    // The synthetic checkpoints are stored in BF16: converting straight to a quantized type encodes
    // the same values llama-quantize reads from the bf16 GGUF.
    for (const model of Object.keys(MODELS) as Model[]) {
        it(`${model}: q4_0, q4_k_m, q6_k`, async () => {
            for (const type of ["q4_0", "q4_k_m", "q6_k"]) {
                const ref = join(root, model, `ref-bf16-${type}.gguf`);
                llamaQuantize(gguf[model].bf16, ref, type);
                const { files } = await convert(join(root, model), join(root, model, `convert-${type}`), ["--outtype", type]);
                expect(files.text.endsWith(`-${type.toUpperCase()}.gguf`)).toBe(true);
                await expectSameTensors(files.text, ref);
            }
        });
    }
});

describe("bad requests", () => {
    it("a K mixture on an mmproj file is a one-line error", async () => {
        const r = await runCli(["quantize", gguf.glm4v.mmproj!, join(root, "mm.gguf"), "--type", "q4_k_m"]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/q4_k_m is a text-model mixture/);
    });
    it("an unknown type is refused before anything is written", async () => {
        const r = await runCli(["quantize", gguf.k256.f16, join(root, "x.gguf"), "--type", "q3_k_m"]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/q3_k_m/);
    });
});
