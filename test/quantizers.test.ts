// autoglm's quantizers against ggml's reference (ggml_quantize_chunk in libggml-base.so).
import { describe, expect, it } from "vitest";
import { GgmlType, TYPE_NAMES } from "../src/core/gguf/constants.js";
import { encodeRows } from "../convert/quant/codec.js";
import { ggmlQuantize } from "./helpers/ggml-reference.js";
import { ggufPyAvailable, ggufPyQuantize } from "./helpers/gguf-py.js";
import { mulberry32 } from "../models/synthetic/random.js";

const TYPES = [GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F16, GgmlType.BF16];

function gaussian(n: number, seed: number, scale = 1): Float32Array {
    const rand = mulberry32(seed);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
        const u = Math.max(rand(), 1e-12), v = rand();
        out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
    return out;
}

function ours(type: GgmlType, src: Float32Array, rowLength: number): Uint8Array {
    return encodeRows("F32", type, rowLength, new Uint8Array(src.buffer.slice(0)));
}

function edgeCases(): Record<string, Float32Array> {
    const cases: Record<string, Float32Array> = {};
    cases["a block of zeros"] = new Float32Array(64);
    const huge = gaussian(64, 7, 0.01); huge[5] = 3.0e4; huge[40] = -6.5e4; cases["one huge value per block"] = huge;
    const sub = new Float32Array(64); for (let i = 0; i < 64; i++) sub[i] = (i % 2 ? -1 : 1) * i * 1.0e-40; cases["float32 subnormals"] = sub;
    const tiny = new Float32Array(64); for (let i = 0; i < 64; i++) tiny[i] = (i - 31) * 3e-8; cases["fp16-subnormal scales"] = tiny;
    const ties = new Float32Array(64); for (let i = 0; i < 64; i++) ties[i] = (i - 32) * 0.5; cases["exact halves (rounding ties)"] = ties;
    const negmax = gaussian(64, 9); negmax[3] = -10; negmax[35] = 10; cases["equal +/- maxima"] = negmax;
    const big = gaussian(64, 11, 1e5); cases["values beyond fp16 range"] = big;
    const neg0 = new Float32Array(64).fill(-0); cases["negative zeros"] = neg0;
    return cases;
}

describe("quantizers are bit-identical to ggml_quantize_chunk", () => {
    for (const type of TYPES) {
        it(`${TYPE_NAMES[type]}: random normal data, several scales`, () => {
            for (const [seed, scale] of [[1, 1], [2, 0.02], [3, 300]] as const) {
                const src = gaussian(256 * 64, seed, scale);
                expect(Buffer.from(ours(type, src, 256)).equals(Buffer.from(ggmlQuantize(type, src, 256)))).toBe(true);
            }
        });
        it(`${TYPE_NAMES[type]}: edge cases`, () => {
            for (const [name, src] of Object.entries(edgeCases())) {
                const a = Buffer.from(ours(type, src, 32));
                const b = Buffer.from(ggmlQuantize(type, src, 32));
                expect(a.equals(b), name).toBe(true);
            }
        });
    }
});

// The numpy reference convert_hf_to_gguf.py uses. Runs where python3 has numpy (the image's python
// does); ggml's C reference above runs everywhere.
describe.runIf(ggufPyAvailable())("quantizers are bit-identical to gguf-py's numpy quantizers", () => {
    for (const [type, name] of [[GgmlType.Q4_0, "q4_0"], [GgmlType.Q8_0, "q8_0"], [GgmlType.BF16, "bf16"], [GgmlType.F16, "f16"]] as const) {
        it(name, () => {
            const src = gaussian(256 * 16, 5, 0.5);
            for (const [edgeName, edge] of Object.entries(edgeCases())) {
                const a = Buffer.from(ours(type, edge, 32)), b = Buffer.from(ggufPyQuantize(name, edge, 32));
                if (name === "q4_0" && edgeName === "negative zeros") {
                    // The two references disagree here: ggml starts its signed max at +0 and keeps it
                    // (scale -0, bits 0x8000), numpy takes the -0 element (scale +0). autoglm follows ggml.
                    for (let o = 0; o < a.length; o += 18) {
                        expect(a.readUInt16LE(o)).toBe(0x8000);
                        expect(b.readUInt16LE(o)).toBe(0x0000);
                        expect(a.subarray(o + 2, o + 18).equals(b.subarray(o + 2, o + 18))).toBe(true);
                    }
                    continue;
                }
                expect(a.equals(b), edgeName).toBe(true);
            }
            expect(Buffer.from(ours(type, src, 256)).equals(Buffer.from(ggufPyQuantize(name, src, 256)))).toBe(true);
        });
    }
});
