// autoglm's encoder (encodeRows: the native addon's quantizeRows, which decodes the source in C and
// calls ggml_quantize_chunk) against ggml_quantize_chunk called directly in libggml-base.so through
// FFI, and against gguf-py's numpy quantizers: the plumbing (decoding, slabs, offsets, counts) must
// not change a byte.
import { describe, expect, it } from "vitest";
import { GgmlType, TYPE_LAYOUT, TYPE_NAMES } from "../src/core/gguf/constants.js";
import { encodeRows } from "../convert/quant/codec.js";
import { ggmlQuantizer } from "../convert/quant/ggml.js";
import { ggmlDequantizeF16, ggmlQuantize } from "./helpers/ggml-reference.js";
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
    return encodeRows("F32", type, rowLength, new Uint8Array(src.buffer.slice(0))).bytes;
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
    it("16-bit sources (decoded in C, in slabs of whole rows) encode as their float32 values do", () => {
        // 200 rows of 768: slabs of 85 rows, so the rows cross slab boundaries at odd places.
        const src = gaussian(768 * 200, 21, 0.05);
        const bf16 = new Uint16Array(src.length);
        const u = new Uint32Array(src.buffer);
        for (let i = 0; i < src.length; i++) bf16[i] = u[i] >>> 16; // truncation: any bf16 values will do
        const fromBf16 = new Float32Array(new Uint32Array(Array.from(bf16, (h) => h << 16)).buffer);
        const f16 = new Uint16Array(ggmlQuantize(GgmlType.F16, src, 768).buffer);
        const fromF16 = new Float32Array(src.length);
        ggmlDequantizeF16(f16, fromF16);
        for (const type of [
            GgmlType.Q4_K,
            GgmlType.Q5_K,
            GgmlType.Q6_K,
            GgmlType.Q4_0,
            GgmlType.Q5_0,
            GgmlType.Q5_1,
            GgmlType.Q8_0,
            GgmlType.F32,
        ]) {
            const viaBf16 = encodeRows("BF16", type, 768, new Uint8Array(bf16.buffer.slice(0))).bytes;
            expect(Buffer.from(viaBf16).equals(Buffer.from(ggmlQuantize(type, fromBf16, 768))), `BF16 -> ${TYPE_NAMES[type]}`).toBe(true);
            const viaF16 = encodeRows("F16", type, 768, new Uint8Array(f16.buffer.slice(0))).bytes;
            expect(Buffer.from(viaF16).equals(Buffer.from(ggmlQuantize(type, fromF16, 768))), `F16 -> ${TYPE_NAMES[type]}`).toBe(true);
        }
    });
    it("a view into a larger buffer (an unaligned offset) encodes its own bytes", () => {
        const src = gaussian(256 * 8, 22, 0.1);
        const padded = new Uint8Array(src.byteLength + 3);
        padded.set(new Uint8Array(src.buffer), 1);
        const view = padded.subarray(1, 1 + src.byteLength);
        expect(
            Buffer.from(encodeRows("F32", GgmlType.Q4_K, 256, view).bytes).equals(Buffer.from(ggmlQuantize(GgmlType.Q4_K, src, 256))),
        ).toBe(true);
    });
});

describe("the encoder's other duties", () => {
    it("counts NaN and infinite source values in every source type, and writes them as they are", () => {
        const f32 = new Float32Array(64).fill(0.5);
        f32[3] = Number.NaN;
        f32[10] = Number.POSITIVE_INFINITY;
        f32[50] = Number.NEGATIVE_INFINITY;
        const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer.slice(0));
        expect(encodeRows("F32", GgmlType.F16, 32, asBytes(f32)).nonFinite).toBe(3);
        // bf16 and f16 bit patterns: 0x7fc0 / 0x7e00 NaN, 0xff80 / 0xfc00 -inf, beside finite values.
        const bf16 = new Uint16Array(64).fill(0x3f00);
        bf16.set([0x7fc0, 0xff80, 0x7f80], 7);
        expect(encodeRows("BF16", GgmlType.Q8_0, 32, asBytes(bf16)).nonFinite).toBe(3);
        const f16 = new Uint16Array(64).fill(0x3800);
        f16.set([0x7e00, 0xfc00], 40);
        expect(encodeRows("F16", GgmlType.Q4_0, 32, asBytes(f16)).nonFinite).toBe(2);
        // The same type is a copy, NaN payloads included.
        const same = encodeRows("F16", GgmlType.F16, 32, asBytes(f16));
        expect(Buffer.from(same.bytes).equals(Buffer.from(f16.buffer))).toBe(true);
        expect(same.nonFinite).toBe(2);
    });
    it("refuses what ggml would assert on with an error, not an abort", () => {
        const q = ggmlQuantizer();
        const rows = new Uint8Array(new Float32Array(512).buffer);
        expect(() => q.quantizeRows("F32", GgmlType.Q4_K, 128, rows, new Uint8Array(4 * 144))).toThrow(/block size/);
        expect(() => q.quantizeRows("F32", GgmlType.Q8_0, 32, rows, new Uint8Array(10))).toThrow(/target must hold/);
        expect(() => q.quantizeRows("F32", GgmlType.Q8_0, 33, rows, new Uint8Array(10))).toThrow(/block size/);
        expect(() => q.quantizeRows("F32", 16 as GgmlType, 256, rows, new Uint8Array(10))).toThrow(/not a type autoglm writes/);
        expect(() => q.quantizeRows("F8" as "F32", GgmlType.Q8_0, 32, rows, new Uint8Array(16 * 34))).toThrow(/sourceType/);
        expect(() => q.quantizeRows("F32", GgmlType.Q8_0, 32, rows.subarray(4), new Uint8Array(16 * 34))).toThrow(/whole rows/);
        const shared = new Uint8Array(4096);
        expect(() => q.quantizeRows("F16", GgmlType.F16, 32, shared.subarray(0, 2048), shared.subarray(1024, 3072))).toThrow(/overlap/);
        expect(() => q.quantizeRows("F32", GgmlType.Q8_0, 32, Array.from(rows) as unknown as Uint8Array, new Uint8Array(16 * 34))).toThrow(
            /source must be a Uint8Array/,
        );
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
