// The JS <-> C++ contract, in one place: reading option and request objects with their types
// checked (a value of the wrong type is a TypeError naming the field, never a silent default) and
// writing result objects. src/engine/native.ts declares the same shapes for TypeScript.
#pragma once
#include <napi.h>
#include <string>
#include "job.h"
#include "llama.h"
#include "mtmd.h"

namespace contract {

/** Options of new NativeContext(model, options). */
llama_context_params contextParams(Napi::Env env, const Napi::Value & options);

/** submit()'s request: { seq, startPos, prompt, maxTokens, ignoreEog?, stopTokens?, sampling? }. */
GenerationRequest request(Napi::Env env, const Napi::Value & value);

/** A kept token's probabilities as JS sees them: { logprob, piece, top: [{ token, logprob, piece }] }, pieces as bytes; nullptr as for result(). */
napi_value tokenProbs(napi_env env, const TokenProbs & p);

/** A finished job as JS sees it; nullptr when JS can no longer run in `env` (it is ending). Never throws. */
napi_value result(napi_env env, const GenerationResult & r);

/** A failed job's Error, with `kind` "user" (the request's fault) or "internal"; nullptr as for result(). */
napi_value failure(napi_env env, const GenerationResult & r);

/** Options of new NativeMedia(model, mmprojPath, options): { threads?, useGpu?, flashAttention?, maxImageTokens? }. */
mtmd_context_params mediaParams(Napi::Env env, const Napi::Value & options);

/**
 * One item of NativeMedia.tokenize(): an image { id?, width, height, rgb: Uint8Array } or an audio
 * clip { id?, samples: Float32Array }. The typed array is read last, so no JS (a getter) runs
 * between reading it and copying its bytes into a bitmap.
 */
struct MediaItem {
    std::string id; // the content id; empty: none
    bool audio = false;
    Napi::Float32Array samples;
    uint32_t width = 0, height = 0;
    Napi::Uint8Array rgb;
};
MediaItem mediaItem(Napi::Env env, const Napi::Value & v, const char * what);

int32_t int32(Napi::Env env, const Napi::Value & v, const char * what);
bool boolean(Napi::Env env, const Napi::Value & v, const char * what);
std::string string(Napi::Env env, const Napi::Value & v, const char * what);
Napi::Object object(Napi::Env env, const Napi::Value & v, const char * what);
Napi::Array array(Napi::Env env, const Napi::Value & v, const char * what);
/** A Uint8Array's own bytes (its view of the buffer). */
struct Bytes {
    uint8_t * data;
    size_t size;
};
Bytes bytes(Napi::Env env, const Napi::Value & v, const char * what);
std::vector<llama_token> tokens(Napi::Env env, const Napi::Value & v, const char * what);

} // namespace contract
