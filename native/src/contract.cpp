#include "contract.h"
#include <algorithm>
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
    return absent(v) ? fallback : boolean(env, v, key);
}

std::string stringOr(Napi::Env env, const Napi::Object & o, const char * key, const char * fallback) {
    Napi::Value v = o.Get(key);
    return absent(v) ? std::string(fallback) : string(env, v, key);
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
    Napi::Value bias = o.Get("logitBias");
    if (!absent(bias)) {
        if (!bias.IsArray()) wrongType(env, "logitBias", "an array of [token, bias] pairs");
        Napi::Array pairs = bias.As<Napi::Array>();
        for (uint32_t i = 0; i < pairs.Length(); i++) {
            Napi::Value pair = pairs.Get(i);
            if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) wrongType(env, "logitBias", "an array of [token, bias] pairs");
            llama_token tok = int32(env, pair.As<Napi::Array>().Get((uint32_t) 0), "logitBias token");
            Napi::Value b = pair.As<Napi::Array>().Get((uint32_t) 1);
            if (!b.IsNumber()) wrongType(env, "logitBias bias", "a number");
            double d = b.As<Napi::Number>().DoubleValue();
            // A finite bias, or -Infinity (a ban).
            if (std::isnan(d) || d == INFINITY) wrongType(env, "logitBias bias", "a finite number or -Infinity");
            s.logitBias.push_back({tok, (float) d});
        }
    }
    return s;
}

} // namespace

int32_t int32(Napi::Env env, const Napi::Value & v, const char * what) {
    double d = number(env, v, what);
    if (d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0) wrongType(env, what, "a 32-bit integer");
    return (int32_t) d;
}

bool boolean(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsBoolean()) wrongType(env, what, "a boolean");
    return v.As<Napi::Boolean>().Value();
}

std::string string(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsString()) wrongType(env, what, "a string");
    return v.As<Napi::String>().Utf8Value();
}

Napi::Object object(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction()) wrongType(env, what, "an object");
    return v.As<Napi::Object>();
}

Napi::Array array(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsArray()) wrongType(env, what, "an array");
    return v.As<Napi::Array>();
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

mtmd_context_params mediaParams(Napi::Env env, const Napi::Value & options) {
    Napi::Object o = object(env, options, "media options");
    mtmd_context_params p = mtmd_context_params_default();
    p.n_threads = int32Or(env, o, "threads", p.n_threads);
    if (p.n_threads <= 0) wrongType(env, "threads", "a positive integer");
    p.use_gpu = boolOr(env, o, "useGpu", p.use_gpu);
    // The encoder's attention kernel follows the context's setting, as llama.cpp's tools do.
    p.flash_attn_type = flashAttention(env, stringOr(env, o, "flashAttention", "auto"));
    p.image_max_tokens = int32Or(env, o, "maxImageTokens", p.image_max_tokens);
    if (!absent(o.Get("maxImageTokens")) && p.image_max_tokens <= 0) wrongType(env, "maxImageTokens", "a positive integer");
    p.print_timings = false;
    return p;
}

MediaItem mediaItem(Napi::Env env, const Napi::Value & v, const char * what) {
    Napi::Object o = object(env, v, what);
    MediaItem item;
    item.id = stringOr(env, o, "id", "");
    if (!absent(o.Get("samples"))) {
        Napi::Value s = o.Get("samples");
        if (!s.IsTypedArray() || s.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) wrongType(env, "samples", "a Float32Array");
        item.audio = true;
        item.samples = s.As<Napi::Float32Array>();
        return item;
    }
    const int32_t w = int32(env, o.Get("width"), "width"), h = int32(env, o.Get("height"), "height");
    if (w <= 0 || h <= 0) throw Napi::RangeError::New(env, "native contract: an image's width and height must be positive");
    item.width = (uint32_t) w;
    item.height = (uint32_t) h;
    Napi::Value rgb = o.Get("rgb");
    if (!rgb.IsTypedArray() || rgb.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) wrongType(env, "rgb", "a Uint8Array");
    item.rgb = rgb.As<Napi::Uint8Array>();
    if ((size_t) item.width * item.height * 3 != item.rgb.ElementLength())
        throw Napi::RangeError::New(env, "native contract: image bytes do not match width x height x 3");
    return item;
}

GenerationRequest request(Napi::Env env, const Napi::Value & value) {
    Napi::Object o = object(env, value, "request");
    GenerationRequest req;
    req.seq = int32(env, o.Get("seq"), "seq");
    req.copyFrom = int32Or(env, o, "copyFrom", -1);
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
    req.logprobs = int32Or(env, o, "logprobs", -1);
    if (req.logprobs < -1 || req.logprobs > 20) wrongType(env, "logprobs", "-1 (none) or 0..20");
    return req;
}

namespace {
/**
 * Builds an object with plain Node-API calls that report failure instead of throwing: the results
 * are written while a worker's environment may be ending, when node-addon-api's throwing wrappers
 * would abort the process (making the Error for a failed call needs JS that can no longer run).
 */
class Writer {
public:
    explicit Writer(napi_env env) : env(env) { ok = napi_create_object(env, &obj) == napi_ok; }
    Writer(napi_env env, napi_value existing) : env(env), obj(existing), ok(existing != nullptr) {}
    void set(const char * key, napi_value v) { ok = ok && v != nullptr && napi_set_named_property(env, obj, key, v) == napi_ok; }
    void set(const char * key, double d) {
        napi_value v = nullptr;
        if (ok) ok = napi_create_double(env, d, &v) == napi_ok;
        set(key, v);
    }
    void set(const char * key, bool b) {
        napi_value v = nullptr;
        if (ok) ok = napi_get_boolean(env, b, &v) == napi_ok;
        set(key, v);
    }
    void set(const char * key, const std::string & text) {
        napi_value v = nullptr;
        if (ok) ok = napi_create_string_utf8(env, text.data(), text.size(), &v) == napi_ok;
        set(key, v);
    }
    napi_value done() const { return ok ? obj : nullptr; }
    napi_env env;
    napi_value obj = nullptr;
    bool ok = false;
};
} // namespace

napi_value result(napi_env env, const GenerationResult & r) {
    Writer o(env);
    void * data = nullptr;
    napi_value buffer = nullptr, toks = nullptr;
    const size_t n = r.tokens.size();
    if (o.ok && napi_create_arraybuffer(env, n * sizeof(int32_t), &data, &buffer) == napi_ok && napi_create_typedarray(env, napi_int32_array, n, buffer, 0, &toks) == napi_ok)
        for (size_t i = 0; i < n; i++) static_cast<int32_t *>(data)[i] = r.tokens[i];
    o.set("tokens", toks);
    o.set("reason", r.reason);
    o.set("promptMs", r.promptMs);
    o.set("decodeMs", r.decodeMs);
    o.set("ttftMs", r.ttftMs);
    o.set("encodeMs", r.encodeMs);
    o.set("decodedTokens", (double) r.decodedTokens);
    o.set("promptComplete", r.promptComplete);
    o.set("nextPos", (double) r.nextPos);
    o.set("promptTokens", (double) r.promptTokens);
    o.set("promptSteps", (double) r.promptSteps);
    o.set("sharedSteps", (double) r.sharedSteps);
    o.set("minThreads", (double) r.minThreads);
    o.set("maxThreads", (double) r.maxThreads);
    o.set("encodeThreads", (double) r.encodeThreads);
    return o.done();
}

namespace {
napi_value bytes(napi_env env, const std::string & s) {
    void * data = nullptr;
    napi_value buffer = nullptr, out = nullptr;
    if (napi_create_arraybuffer(env, s.size(), &data, &buffer) != napi_ok) return nullptr;
    if (!s.empty()) std::copy(s.begin(), s.end(), static_cast<char *>(data));
    return napi_create_typedarray(env, napi_uint8_array, s.size(), buffer, 0, &out) == napi_ok ? out : nullptr;
}
} // namespace

napi_value tokenProbs(napi_env env, const TokenProbs & p) {
    Writer o(env);
    o.set("logprob", (double) p.logprob);
    o.set("piece", bytes(env, p.piece));
    napi_value top = nullptr;
    if (o.ok && napi_create_array_with_length(env, p.top.size(), &top) == napi_ok) {
        for (size_t i = 0; i < p.top.size() && top != nullptr; i++) {
            Writer t(env);
            t.set("token", (double) p.top[i]);
            t.set("logprob", (double) p.topLogprobs[i]);
            t.set("piece", bytes(env, p.topPieces[i]));
            if (t.done() == nullptr || napi_set_element(env, top, (uint32_t) i, t.done()) != napi_ok) top = nullptr;
        }
    }
    o.set("top", top);
    return o.done();
}

napi_value failure(napi_env env, const GenerationResult & r) {
    napi_value message = nullptr, error = nullptr;
    if (napi_create_string_utf8(env, r.error.data(), r.error.size(), &message) != napi_ok) return nullptr;
    if (napi_create_error(env, nullptr, message, &error) != napi_ok) return nullptr;
    Writer e(env, error);
    e.set("kind", std::string(r.failure == Failure::User ? "user" : "internal"));
    return e.done();
}

} // namespace contract
