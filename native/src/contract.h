// The JS <-> C++ contract, in one place: reading option and request objects with their types
// checked (a value of the wrong type is a TypeError naming the field, never a silent default) and
// writing result objects. src/engine/native.ts declares the same shapes for TypeScript.
#pragma once
#include <napi.h>
#include <string>
#include "job.h"
#include "llama.h"

namespace contract {

/** Options of new NativeContext(model, options). */
llama_context_params contextParams(Napi::Env env, const Napi::Value & options);

/** submit()'s request: { seq, startPos, prompt, maxTokens, ignoreEog?, stopTokens?, sampling? }. */
GenerationRequest request(Napi::Env env, const Napi::Value & value);

/** A finished job as JS sees it. */
Napi::Object result(Napi::Env env, const GenerationResult & r);

/** A failed job's Error, with `kind` "user" (the request's fault) or "internal". */
Napi::Error failure(Napi::Env env, const GenerationResult & r);

int32_t int32(Napi::Env env, const Napi::Value & v, const char * what);
std::string string(Napi::Env env, const Napi::Value & v, const char * what);
/** A Uint8Array's own bytes (its view of the buffer). */
struct Bytes {
    uint8_t * data;
    size_t size;
};
Bytes bytes(Napi::Env env, const Napi::Value & v, const char * what);
std::vector<llama_token> tokens(Napi::Env env, const Napi::Value & v, const char * what);

} // namespace contract
