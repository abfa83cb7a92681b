// quantizeRows: the converter's encoder, ggml's own quantizers over whole rows (native/src/quantize.cpp).
#pragma once
#include <napi.h>

/** quantizeRows(sourceType, type, rowLength, source, target) -> the count of NaN/infinite source values. */
Napi::Value QuantizeRows(const Napi::CallbackInfo & info);
