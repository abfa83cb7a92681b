#include "contract.h"
#include <cmath>
#include "media-chunk.h"

namespace contract {
namespace {

[[noreturn]] void wrongType(Napi::Env env, const char * what, const char * expected) {
    throw Napi::TypeError::New(env, std::string("native contract: ") + what + " must be " + expected);
}

bool absent(const Napi::Value & v) { return v.IsUndefined() || v.IsNull(); }

double number(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsNumber()) wrongType(env, what, "a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) wrongType(env, what, "a finite number");
    return d;
}

double numberOr(Napi::Env env, const Napi::Object & o, const char * key, double fallback) {
    Napi::Value v = o.Get(key);
    return absent(v) ? fallback : number(env, v, key);
}

int32_t int32Or(Napi::Env env, const Napi::Object & o, const char * key, int32_t fallback) {
    Napi::Value v = o.Get(key);
    return absent(v) ? fallback : int32(env, v, key);
}

bool boolOr(Napi::Env env, const Napi::Object & o, const char * key, bool fallback) {
    Napi::Value v = o.Get(key);
    if (absent(v)) return fallback;
    if (!v.IsBoolean()) wrongType(env, key, "a boolean");
    return v.As<Napi::Boolean>().Value();
}

std::string stringOr(Napi::Env env, const Napi::Object & o, const char * key, const char * fallback) {
    Napi::Value v = o.Get(key);
    return absent(v) ? std::string(fallback) : string(env, v, key);
}

Napi::Object object(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsObject() || v.IsArray()) wrongType(env, what, "an object");
    return v.As<Napi::Object>();
}

ggml_type kvType(Napi::Env env, const std::string & name) {
    if (name == "f16") return GGML_TYPE_F16;
    if (name == "q8_0") return GGML_TYPE_Q8_0;
    if (name == "q4_0") return GGML_TYPE_Q4_0;
    if (name == "f32") return GGML_TYPE_F32;
    if (name == "bf16") return GGML_TYPE_BF16;
    throw Napi::TypeError::New(env, "unknown KV cache type " + name + " (f16, bf16, q8_0, q4_0, f32)");
}

llama_flash_attn_type flashAttention(Napi::Env env, const std::string & mode) {
    if (mode == "on") return LLAMA_FLASH_ATTN_TYPE_ENABLED;
    if (mode == "off") return LLAMA_FLASH_ATTN_TYPE_DISABLED;
    if (mode == "auto") return LLAMA_FLASH_ATTN_TYPE_AUTO;
    throw Napi::TypeError::New(env, "native contract: flashAttention must be auto, on or off");
}

SamplingOptions sampling(Napi::Env env, const Napi::Value & v) {
    SamplingOptions s;
    if (absent(v)) return s;
    Napi::Object o = object(env, v, "sampling");
    s.temperature = (float) numberOr(env, o, "temperature", s.temperature);
    s.topK = int32Or(env, o, "topK", s.topK);
    s.topP = (float) numberOr(env, o, "topP", s.topP);
    s.minP = (float) numberOr(env, o, "minP", s.minP);
    s.repeatPenalty = (float) numberOr(env, o, "repeatPenalty", s.repeatPenalty);
    s.frequencyPenalty = (float) numberOr(env, o, "frequencyPenalty", s.frequencyPenalty);
    s.presencePenalty = (float) numberOr(env, o, "presencePenalty", s.presencePenalty);
    s.penaltyLastN = int32Or(env, o, "penaltyLastN", s.penaltyLastN);
    double seed = numberOr(env, o, "seed", s.seed);
    if (seed < 0 || seed > 4294967295.0 || seed != std::floor(seed)) wrongType(env, "seed", "an integer in 0..2^32-1");
    s.seed = (uint32_t) seed;
    s.grammar = stringOr(env, o, "grammar", "");
    return s;
}

} // namespace

int32_t int32(Napi::Env env, const Napi::Value & v, const char * what) {
    double d = number(env, v, what);
    if (d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0) wrongType(env, what, "a 32-bit integer");
    return (int32_t) d;
}

std::string string(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsString()) wrongType(env, what, "a string");
    return v.As<Napi::String>().Utf8Value();
}

std::vector<llama_token> tokens(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) wrongType(env, what, "an Int32Array");
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    return std::vector<llama_token>(a.Data(), a.Data() + a.ElementLength());
}

Bytes bytes(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) wrongType(env, what, "a Uint8Array");
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    return {a.Data(), a.ByteLength()};
}

llama_context_params contextParams(Napi::Env env, const Napi::Value & options) {
    Napi::Object o = object(env, options, "context options");
    llama_context_params p = llama_context_default_params();
    auto positive = [&](const char * key, uint32_t fallback) {
        int32_t v = int32Or(env, o, key, (int32_t) fallback);
        if (v <= 0) wrongType(env, key, "a positive integer");
        return (uint32_t) v;
    };
    p.n_ctx = positive("contextSize", 4096);
    p.n_batch = positive("batchSize", 512);
    p.n_ubatch = positive("ubatchSize", p.n_batch);
    p.n_seq_max = positive("sequences", 1);
    p.n_threads = (int32_t) positive("threads", (uint32_t) p.n_threads);
    p.n_threads_batch = (int32_t) positive("threadsBatch", (uint32_t) p.n_threads);
    p.flash_attn_type = flashAttention(env, stringOr(env, o, "flashAttention", "auto"));
    p.type_k = kvType(env, stringOr(env, o, "typeK", "f16"));
    p.type_v = kvType(env, stringOr(env, o, "typeV", "f16"));
    p.no_perf = true;
    return p;
}

GenerationRequest request(Napi::Env env, const Napi::Value & value) {
    Napi::Object o = object(env, value, "request");
    GenerationRequest req;
    req.seq = int32(env, o.Get("seq"), "seq");
    req.startPos = int32(env, o.Get("startPos"), "startPos");
    if (req.startPos < 0) wrongType(env, "startPos", "a position >= 0");
    Napi::Value prompt = o.Get("prompt");
    if (!prompt.IsArray()) wrongType(env, "prompt", "an array of Int32Array token runs and media chunks");
    Napi::Array pieces = prompt.As<Napi::Array>();
    for (uint32_t i = 0; i < pieces.Length(); i++) req.prompt.push_back(promptPieceOf(env, pieces.Get(i)));
    req.maxTokens = int32(env, o.Get("maxTokens"), "maxTokens");
    if (req.maxTokens < 0) wrongType(env, "maxTokens", "a count >= 0");
    req.ignoreEog = boolOr(env, o, "ignoreEog", false);
    if (!absent(o.Get("stopTokens"))) req.stopTokens = tokens(env, o.Get("stopTokens"), "stopTokens");
    req.sampling = sampling(env, o.Get("sampling"));
    if (!absent(o.Get("penaltyHistory"))) req.sampling.history = tokens(env, o.Get("penaltyHistory"), "penaltyHistory");
    return req;
}

Napi::Object result(Napi::Env env, const GenerationResult & r) {
    Napi::Object o = Napi::Object::New(env);
    Napi::Int32Array toks = Napi::Int32Array::New(env, r.tokens.size());
    for (size_t i = 0; i < r.tokens.size(); i++) toks[i] = r.tokens[i];
    o.Set("tokens", toks);
    o.Set("reason", r.reason);
    o.Set("promptMs", r.promptMs);
    o.Set("decodeMs", r.decodeMs);
    o.Set("ttftMs", r.ttftMs);
    o.Set("encodeMs", r.encodeMs);
    o.Set("decodedTokens", r.decodedTokens);
    o.Set("promptComplete", r.promptComplete);
    o.Set("nextPos", r.nextPos);
    o.Set("promptTokens", r.promptTokens);
    o.Set("promptSteps", r.promptSteps);
    o.Set("sharedSteps", r.sharedSteps);
    return o;
}

Napi::Error failure(Napi::Env env, const GenerationResult & r) {
    Napi::Error e = Napi::Error::New(env, r.error);
    e.Value().Set("kind", r.failure == Failure::User ? "user" : "internal");
    return e;
}

} // namespace contract
