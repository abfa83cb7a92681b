// Encoder throughput benchmark (not a test): autoglm's encoder (`encodeRows`, the function the
// conversion workers run: the native addon decodes BF16 and calls ggml_quantize_chunk) against
// ggml_quantize_chunk called directly in node-llama-cpp's libggml-base.so through FFI on float32, on
// one core, in the same process, interleaved round by round so both see the same machine load: the
// ratio is the cost of autoglm's plumbing. Prints a markdown table of M elements/s and the ratio,
// medians over the rounds.
//   node scripts/bench-encode.mjs [--types q4_K,q5_K,q6_K,q4_0,q8_0] [--rounds 5] [--rows 256] [--row 4096]
// Input: BF16 rows of random normal weights (the conversion case), decoded to float32 for ggml
// (autoglm decodes inside encodeRows, so its figure includes the BF16 decode).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import koffi from "koffi";
import { encodeRows } from "../dist/convert/quant/codec.js";
import { typeFromName, typeName } from "../dist/src/core/gguf/constants.js";
import { flag, median } from "./bench-common.mjs";

const types = flag("--types", "q4_K,q5_K,q6_K,q4_0,q8_0")
    .split(",")
    .map((n) => {
        const t = typeFromName(n);
        if (t === undefined) throw new Error(`unknown type ${n}`);
        return t;
    });
const rounds = Number(flag("--rounds", "5"));
const rows = Number(flag("--rows", "256"));
const rowLength = Number(flag("--row", "4096"));

const require = createRequire(import.meta.url);
const pkg = `@node-llama-cpp/${process.platform}-${process.arch}`;
const lib = koffi.load(join(dirname(dirname(require.resolve(pkg))), "bins", `${process.platform}-${process.arch}`, "libggml-base.so"));
const quantizeChunk = lib.func(
    "size_t ggml_quantize_chunk(int type, const float *src, _Out_ uint8_t *dst, int64_t start, int64_t nrows, int64_t n_per_row, const float *imatrix)",
);
const rowSize = lib.func("size_t ggml_row_size(int type, int64_t ne)");

// Deterministic normal values (Box-Muller over a 32-bit LCG), stored as BF16.
const n = rows * rowLength;
const bf16 = new Uint16Array(n);
const f32 = new Float32Array(n);
const bits = new Uint32Array(f32.buffer);
let s = 12345;
const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
};
for (let i = 0; i < n; i++) {
    f32[i] = 0.02 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    bf16[i] = bits[i] >>> 16;
    bits[i] = bf16[i] << 16; // ggml gets exactly the values autoglm decodes
}
const bf16Bytes = new Uint8Array(bf16.buffer);

function timeIt(fn) {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
}

console.log(`| type | autoglm (addon) M elem/s | ggml (FFI) M elem/s | autoglm / ggml |`);
console.log(`| --- | --- | --- | --- |`);
for (const type of types) {
    const out = new Uint8Array(Number(rowSize(type, rowLength)) * rows);
    encodeRows("BF16", type, rowLength, bf16Bytes); // warm up the JIT once
    const ours = [],
        ref = [];
    for (let r = 0; r < rounds; r++) {
        ours.push(timeIt(() => encodeRows("BF16", type, rowLength, bf16Bytes)));
        ref.push(timeIt(() => quantizeChunk(type, f32, out, 0, rows, rowLength, null)));
    }
    const a = n / median(ours) / 1e6,
        b = n / median(ref) / 1e6;
    console.log(`| ${typeName(type)} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} |`);
}
console.log(`\n${rows} rows of ${rowLength} BF16 values, ${rounds} rounds, medians; node ${process.version}, one thread`);
