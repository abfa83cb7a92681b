// The converter's encoder: rows of F32/F16/BF16 source values written as a GGUF tensor type by
// ggml_quantize_chunk, the function llama-quantize calls, so a converted file has llama-quantize's
// bytes by construction. It needs no model, context or backend (the code is in libggml-base): the
// converter's worker threads each load the addon and call this synchronously, one chunk of whole
// rows at a time (convert/quant/worker.ts).
#include "quantize.h"
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>
#include "contract.h"
#include "ggml.h"

namespace {

enum class Source { F32, F16, BF16 };

Source sourceOf(Napi::Env env, const std::string & name) {
    if (name == "F32") return Source::F32;
    if (name == "F16") return Source::F16;
    if (name == "BF16") return Source::BF16;
    throw Napi::TypeError::New(env, "native contract: sourceType must be F32, F16 or BF16");
}

size_t elementBytes(Source s) { return s == Source::F32 ? 4 : 2; }

ggml_type sameType(Source s) { return s == Source::F32 ? GGML_TYPE_F32 : s == Source::F16 ? GGML_TYPE_F16 : GGML_TYPE_BF16; }

// The types the converter writes (src/core/gguf/constants.ts TYPE_LAYOUT): none needs an importance matrix.
bool writable(int32_t t) {
    switch (t) {
        case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16: case GGML_TYPE_Q8_0: case GGML_TYPE_Q4_0: case GGML_TYPE_Q5_0:
        case GGML_TYPE_Q5_1: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
            return true;
        default:
            return false;
    }
}

// NaN and infinity have every exponent bit set.
size_t countNonFinite(Source s, const uint8_t * src, size_t n) {
    size_t bad = 0;
    if (s == Source::F32) {
        for (size_t i = 0; i < n; i++) {
            uint32_t w;
            std::memcpy(&w, src + 4 * i, 4);
            bad += (w & 0x7f800000u) == 0x7f800000u;
        }
        return bad;
    }
    const uint16_t mask = s == Source::BF16 ? 0x7f80 : 0x7c00;
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        bad += (h & mask) == mask;
    }
    return bad;
}

// Exact widening to float32, as llama-quantize does before it quantizes (the source may be unaligned).
void decode(Source s, const uint8_t * src, float * out, size_t n) {
    if (s == Source::F32) {
        std::memcpy(out, src, 4 * n);
        return;
    }
    const size_t step = 1024;
    uint16_t half[step];
    for (size_t i = 0; i < n; i += step) {
        const size_t len = std::min(step, n - i);
        std::memcpy(half, src + 2 * i, 2 * len);
        if (s == Source::BF16) ggml_bf16_to_fp32_row(reinterpret_cast<const ggml_bf16_t *>(half), out + i, (int64_t) len);
        else ggml_fp16_to_fp32_row(reinterpret_cast<const ggml_fp16_t *>(half), out + i, (int64_t) len);
    }
}

// Source values decoded at a time: whole rows, about this many, so the float32 slab stays in cache.
constexpr size_t SLAB_ELEMENTS = 1 << 16;

} // namespace

Napi::Value QuantizeRows(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const Source source = sourceOf(env, contract::string(env, info[0], "sourceType"));
    const int32_t typeId = contract::int32(env, info[1], "type");
    const int32_t rowLength = contract::int32(env, info[2], "rowLength");
    const contract::Bytes src = contract::bytes(env, info[3], "source");
    const contract::Bytes dst = contract::bytes(env, info[4], "target");
    // Everything ggml_quantize_chunk would assert on is refused here, as an exception.
    if (!writable(typeId)) throw Napi::RangeError::New(env, "native contract: type " + std::to_string(typeId) + " is not a type autoglm writes");
    const ggml_type type = (ggml_type) typeId;
    if (rowLength <= 0 || rowLength % ggml_blck_size(type) != 0) {
        throw Napi::RangeError::New(env, "native contract: rowLength " + std::to_string(rowLength) + " is not a positive multiple of " +
                                             ggml_type_name(type) + "'s block size");
    }
    const size_t srcRow = (size_t) rowLength * elementBytes(source);
    if (src.size % srcRow != 0) throw Napi::RangeError::New(env, "native contract: source is not whole rows of rowLength values");
    const size_t rows = src.size / srcRow;
    const size_t dstRow = ggml_row_size(type, rowLength);
    if (dst.size != rows * dstRow) throw Napi::RangeError::New(env, "native contract: target must hold exactly the source's rows in type");
    if (rows > 0 && src.data < dst.data + dst.size && dst.data < src.data + src.size) {
        throw Napi::RangeError::New(env, "native contract: source and target overlap");
    }

    const size_t nonFinite = countNonFinite(source, src.data, src.size / elementBytes(source));
    if (type == sameType(source)) {
        std::memcpy(dst.data, src.data, src.size); // bit-identical pass-through
        return Napi::Number::New(env, (double) nonFinite);
    }
    const size_t slabRows = std::max<size_t>(1, SLAB_ELEMENTS / (size_t) rowLength);
    std::vector<float> slab(std::min(rows, slabRows) * (size_t) rowLength);
    for (size_t row = 0; row < rows; row += slabRows) {
        const size_t count = std::min(slabRows, rows - row);
        decode(source, src.data + row * srcRow, slab.data(), count * (size_t) rowLength);
        const size_t written = ggml_quantize_chunk(type, slab.data(), dst.data + row * dstRow, 0, (int64_t) count, rowLength, nullptr);
        if (written != count * dstRow) throw Napi::Error::New(env, "ggml_quantize_chunk wrote " + std::to_string(written) + " bytes, not " + std::to_string(count * dstRow));
    }
    return Napi::Number::New(env, (double) nonFinite);
}
