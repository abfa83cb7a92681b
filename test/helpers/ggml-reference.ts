// ggml's own quantizers, called in libggml-base.so (shipped by node-llama-cpp's prebuilt binaries)
// through FFI, on float32 values decoded here: the reference autoglm's encoder must match byte for byte.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import koffi from "koffi";

const require = createRequire(import.meta.url);

function libraryPath(): string {
    const pkg = `@node-llama-cpp/${process.platform}-${process.arch}`;
    const dir = dirname(dirname(require.resolve(pkg))); // <pkg>/dist/index.js -> <pkg>
    return join(dir, "bins", `${process.platform}-${process.arch}`, "libggml-base.so");
}

const lib = koffi.load(libraryPath());
const quantizeChunk = lib.func(
    "size_t ggml_quantize_chunk(int type, const float *src, _Out_ uint8_t *dst, int64_t start, int64_t nrows, int64_t n_per_row, const float *imatrix)",
);
const rowSize = lib.func("size_t ggml_row_size(int type, int64_t ne)");
const fp16ToFp32Row = lib.func("void ggml_fp16_to_fp32_row(const uint16_t *x, _Out_ float *y, int64_t n)");

/** Runs ggml_quantize_chunk on whole rows and returns the bytes it wrote. */
export function ggmlQuantize(type: number, src: Float32Array, rowLength: number): Uint8Array {
    const rows = src.length / rowLength;
    const out = new Uint8Array(Number(rowSize(type, rowLength)) * rows);
    const written = Number(quantizeChunk(type, src, out, 0, rows, rowLength, null));
    if (written !== out.length) throw new Error(`ggml wrote ${written} bytes, expected ${out.length}`);
    return out;
}

/** fp16 values widened as ggml widens them. */
export function ggmlDequantizeF16(src: Uint16Array, out: Float32Array): void {
    fp16ToFp32Row(src, out, src.length);
}
