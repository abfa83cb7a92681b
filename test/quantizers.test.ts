// autoglm's quantizers against ggml's reference (ggml_quantize_chunk in libggml-base.so).
import { describe, expect, it } from "vitest";
import { GgmlType, TYPE_LAYOUT, TYPE_NAMES } from "../src/core/gguf/constants.js";
import { encodeRows } from "../convert/quant/codec.js";
import { ggmlQuantize } from "./helpers/ggml-reference.js";
import { ggufPyAvailable, ggufPyQuantize } from "./helpers/gguf-py.js";
import { mulberry32 } from "../models/synthetic/random.js";

const TYPES = [
    GgmlType.Q4_0,
    GgmlType.Q5_0,
    GgmlType.Q5_1,
    GgmlType.Q8_0,
    GgmlType.Q4_K,
    GgmlType.Q5_K,
    GgmlType.Q6_K,
    GgmlType.F16,
    GgmlType.BF16,
];

function gaussian(n: number, seed: number, scale = 1): Float32Array {
    const rand = mulberry32(seed);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
        const u = Math.max(rand(), 1e-12),
            v = rand();
        out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
    return out;
}

function ours(type: GgmlType, src: Float32Array, rowLength: number): Uint8Array {
    return encodeRows("F32", type, rowLength, new Uint8Array(src.buffer.slice(0)));
}

/** Awkward inputs of `n` values (two K super-blocks for n = 512, 16 small blocks). */
function edgeCases(n: number): Record<string, Float32Array> {
    const cases: Record<string, Float32Array> = {};
    const fill = (f: (i: number) => number) => {
        const a = new Float32Array(n);
        for (let i = 0; i < n; i++) a[i] = f(i);
        return a;
    };
    cases.zeros = new Float32Array(n);
    cases["negative zeros"] = new Float32Array(n).fill(-0);
    cases["a constant row"] = new Float32Array(n).fill(0.37);
    cases["a negative constant row"] = new Float32Array(n).fill(-2.5);
    const huge = gaussian(n, 7, 0.01);
    huge[5] = 3.0e4;
    huge[40] = -6.5e4;
    cases["one huge value per block"] = huge;
    const outlier = gaussian(n, 8, 0.02);
    for (let i = 17; i < n; i += 97) outlier[i] = (i % 2 ? 1 : -1) * 4;
    cases["sparse outliers"] = outlier;
    cases["float32 subnormals"] = fill((i) => (i % 2 ? -1 : 1) * i * 1.0e-40);
    cases["fp16-subnormal scales"] = fill((i) => ((i % 64) - 31) * 3e-8);
    cases["tiny values"] = gaussian(n, 12, 1e-30);
    cases["exact halves (rounding ties)"] = fill((i) => ((i % 64) - 32) * 0.5);
    const negmax = gaussian(n, 9);
    negmax[3] = -10;
    negmax[35] = 10;
    cases["equal +/- maxima"] = negmax;
    cases["values beyond fp16 range"] = gaussian(n, 11, 1e5);
    cases["large values"] = gaussian(n, 13, 1e30);
    cases["all positive"] = fill((i) => 1 + (i % 7) * 0.125);
    cases["steps of one level"] = fill((i) => Math.floor(i / 16) - 8);
    return cases;
}

describe("quantizers are bit-identical to ggml_quantize_chunk", () => {
    for (const type of TYPES) {
        const rowLength = TYPE_LAYOUT[type].blockSize === 256 ? 256 : 32;
        it(`${TYPE_NAMES[type]}: random normal data, several scales`, () => {
            for (const [seed, scale] of [
                [1, 1],
                [2, 0.02],
                [3, 300],
                [4, 1e-6],
            ] as const) {
                const src = gaussian(256 * 64, seed, scale);
                expect(Buffer.from(ours(type, src, 256)).equals(Buffer.from(ggmlQuantize(type, src, 256))), `seed ${seed}`).toBe(true);
            }
        });
        it(`${TYPE_NAMES[type]}: edge cases`, () => {
            for (const [name, src] of Object.entries(edgeCases(512))) {
                const a = Buffer.from(ours(type, src, rowLength));
                const b = Buffer.from(ggmlQuantize(type, src, rowLength));
                expect(a.equals(b), name).toBe(true);
            }
        });
    }
    it("16-bit sources (decoded in slabs) encode as their float32 values do", () => {
        const src = gaussian(256 * 40, 21, 0.05);
        const bf16 = new Uint16Array(src.length);
        const u = new Uint32Array(src.buffer);
        for (let i = 0; i < src.length; i++) bf16[i] = u[i] >>> 16; // truncation: any bf16 values will do
        const asF32 = new Float32Array(src.length);
        new Uint32Array(asF32.buffer).set(Array.from(bf16, (h) => h << 16));
        for (const type of [GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q5_0, GgmlType.Q5_1]) {
            const viaSlabs = encodeRows("BF16", type, 256 * 4, new Uint8Array(bf16.buffer.slice(0)));
            expect(Buffer.from(viaSlabs).equals(Buffer.from(ggmlQuantize(type, asF32, 256 * 4))), TYPE_NAMES[type]).toBe(true);
        }
    });
});

/** The edge cases also run through numpy: one python process each, so a few. */
const NUMPY_CASES = [
    "zeros",
    "negative zeros",
    "one huge value per block",
    "float32 subnormals",
    "fp16-subnormal scales",
    "exact halves (rounding ties)",
    "equal +/- maxima",
    "values beyond fp16 range",
];

// The numpy reference convert_hf_to_gguf.py uses. Runs where python3 has numpy (the image's python
// does); ggml's C reference above runs everywhere.
describe.runIf(ggufPyAvailable())("quantizers are bit-identical to gguf-py's numpy quantizers", () => {
    for (const [type, name] of [
        [GgmlType.Q4_0, "q4_0"],
        [GgmlType.Q8_0, "q8_0"],
        [GgmlType.BF16, "bf16"],
        [GgmlType.F16, "f16"],
    ] as const) {
        it(name, () => {
            const src = gaussian(256 * 16, 5, 0.5);
            for (const [edgeName, edge] of Object.entries(edgeCases(64)).filter(([n]) => NUMPY_CASES.includes(n))) {
                const a = Buffer.from(ours(type, edge, 32)),
                    b = Buffer.from(ggufPyQuantize(name, edge, 32));
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
