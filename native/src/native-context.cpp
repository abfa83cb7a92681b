#include "native-context.h"
#include "generation.h"
#include "batch-scheduler.h"
#include "model-handle.h"
#include "media-chunk.h"
#include <vector>

static ggml_type kvType(const std::string & name, Napi::Env env) {
    if (name == "f16") return GGML_TYPE_F16;
    if (name == "q8_0") return GGML_TYPE_Q8_0;
    if (name == "q4_0") return GGML_TYPE_Q4_0;
    if (name == "f32") return GGML_TYPE_F32;
    if (name == "bf16") return GGML_TYPE_BF16;
    throw Napi::TypeError::New(env, "unknown KV cache type " + name + " (f16, bf16, q8_0, q4_0, f32)");
}

Napi::Function NativeContext::Define(Napi::Env env) {
    return DefineClass(env, "NativeContext", {
        InstanceMethod("contextSize", &NativeContext::ContextSize),
        InstanceMethod("removeTokens", &NativeContext::RemoveTokens),
        InstanceMethod("evaluate", &NativeContext::Evaluate),
        InstanceMethod("generate", &NativeContext::Generate),
        InstanceMethod("submit", &NativeContext::Submit),
        InstanceMethod("cancel", &NativeContext::Cancel),
        InstanceMethod("sequenceSize", &NativeContext::SequenceSize),
        InstanceMethod("abort", &NativeContext::Abort),
        InstanceMethod("produced", &NativeContext::Produced),
        InstanceMethod("saveSequence", &NativeContext::SaveSequence),
        InstanceMethod("loadSequence", &NativeContext::LoadSequence),
        InstanceMethod("dispose", &NativeContext::Dispose),
    });
}

// new NativeContext(nodeLlamaCppModel, { contextSize, batchSize, ubatchSize, sequences, threads,
//                   threadsBatch, flashAttention: "auto"|"on"|"off", typeK, typeV })
NativeContext::NativeContext(const Napi::CallbackInfo & info) : Napi::ObjectWrap<NativeContext>(info) {
    Napi::Env env = info.Env();
    model = unwrapNodeLlamaCppModel(info[0]);
    modelRef = Napi::Persistent(info[0]);
    vocab = llama_model_get_vocab(model);
    Napi::Object o = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    auto u32 = [&](const char * k, uint32_t d) { Napi::Value v = o.Get(k); return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : d; };
    auto i32 = [&](const char * k, int32_t d) { Napi::Value v = o.Get(k); return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : d; };
    auto str = [&](const char * k, const char * d) { Napi::Value v = o.Get(k); return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(d); };

    llama_context_params p = llama_context_default_params();
    p.n_ctx = u32("contextSize", 4096);
    p.n_batch = u32("batchSize", 512);
    p.n_ubatch = u32("ubatchSize", p.n_batch);
    p.n_seq_max = u32("sequences", 1);
    p.n_threads = i32("threads", p.n_threads);
    p.n_threads_batch = i32("threadsBatch", p.n_threads);
    std::string fa = str("flashAttention", "auto");
    p.flash_attn_type = fa == "on" ? LLAMA_FLASH_ATTN_TYPE_ENABLED : fa == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    p.type_k = kvType(str("typeK", "f16"), env);
    p.type_v = kvType(str("typeV", "f16"), env);
    p.no_perf = true;
    if (p.n_ctx == 0) throw Napi::RangeError::New(env, "context size must be positive");
    ctx = llama_init_from_model(const_cast<llama_model *>(model), p);
    if (ctx == nullptr) throw Napi::Error::New(env, "llama.cpp could not create the context (out of memory, or unsupported settings)");
    nBatch = llama_n_batch(ctx);
    threadpool.attach(ctx, p.n_threads, p.n_threads_batch);
    // Lets an abort (or dispose) stop a long prompt evaluation between graph nodes, not only between tokens.
    llama_set_abort_callback(ctx, [](void * self) { return ((NativeContext *) self)->abortRequested.load(); }, this);
}

NativeContext::~NativeContext() { release(); }

/** Throws unless the context exists and no job is running on it. */
void NativeContext::requireIdle(Napi::Env env) {
    if (ctx == nullptr) throw Napi::Error::New(env, "the context was disposed");
    if (busy || (scheduler && scheduler->load() > 0)) throw Napi::Error::New(env, "the context is busy");
}

void NativeContext::joinWorker() {
    if (worker.joinable()) worker.join();
}

void NativeContext::release() {
    abortRequested = true;
    joinWorker();
    if (scheduler) scheduler->stop();
    if (ctx != nullptr) {
        threadpool.detach(ctx);
        llama_free(ctx);
        ctx = nullptr;
    }
    threadpool.release();
}

Napi::Value NativeContext::ContextSize(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), ctx ? llama_n_ctx(ctx) : 0);
}

// removeTokens(seq, fromPos): drops positions >= fromPos of a sequence from the KV cache.
Napi::Value NativeContext::RemoveTokens(const Napi::CallbackInfo & info) {
    requireIdle(info.Env());
    int32_t seq = info[0].As<Napi::Number>().Int32Value();
    int32_t from = info[1].As<Napi::Number>().Int32Value();
    bool ok = llama_memory_seq_rm(llama_get_memory(ctx), seq, from, -1);
    return Napi::Boolean::New(info.Env(), ok);
}

static std::vector<llama_token> tokensOf(const Napi::Value & v) {
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    return std::vector<llama_token>(a.Data(), a.Data() + a.ElementLength());
}

// evaluate(seq, tokens: Int32Array, startPos): Promise<{ ms }>
Napi::Value NativeContext::Evaluate(const Napi::CallbackInfo & info) {
    requireIdle(info.Env());
    GenerationRequest req;
    req.seq = info[0].As<Napi::Number>().Int32Value();
    req.prompt.push_back(promptPieceOf(info.Env(), info[1]));
    req.startPos = info[2].As<Napi::Number>().Int32Value();
    req.maxTokens = 0;
    return startGeneration(info.Env(), this, std::move(req), Napi::Function());
}

// { seq, startPos, prompt: Array<Int32Array | media chunk>, maxTokens, ignoreEog, stopTokens?: Int32Array, sampling }
static GenerationRequest requestOf(Napi::Env env, Napi::Object o) {
    GenerationRequest req;
    req.seq = o.Get("seq").As<Napi::Number>().Int32Value();
    req.startPos = o.Get("startPos").As<Napi::Number>().Int32Value();
    Napi::Array pieces = o.Get("prompt").As<Napi::Array>();
    for (uint32_t i = 0; i < pieces.Length(); i++) req.prompt.push_back(promptPieceOf(env, pieces.Get(i)));
    req.maxTokens = o.Get("maxTokens").As<Napi::Number>().Int32Value();
    req.ignoreEog = o.Get("ignoreEog").ToBoolean();
    if (o.Get("stopTokens").IsTypedArray()) req.stopTokens = tokensOf(o.Get("stopTokens"));
    if (o.Get("sampling").IsObject()) req.sampling = readSamplingOptions(o.Get("sampling").As<Napi::Object>());
    return req;
}

// generate(request, onToken): Promise<result>; the whole context is this job's.
Napi::Value NativeContext::Generate(const Napi::CallbackInfo & info) {
    requireIdle(info.Env());
    return startGeneration(info.Env(), this, requestOf(info.Env(), info[0].As<Napi::Object>()), info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function());
}

// submit(request, onToken): { id, done: Promise<result> }. Jobs of different sequences run batched;
// positions >= startPos of the sequence are dropped first, on the scheduler's thread.
Napi::Value NativeContext::Submit(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (ctx == nullptr) throw Napi::Error::New(env, "the context was disposed");
    if (busy) throw Napi::Error::New(env, "the context is busy with a single-sequence generation");
    GenerationRequest req = requestOf(env, info[0].As<Napi::Object>());
    if (req.seq < 0 || (uint32_t) req.seq >= llama_n_seq_max(ctx)) throw Napi::RangeError::New(env, "no such sequence");
    if (!scheduler) scheduler = std::make_unique<BatchScheduler>(this);
    return scheduler->submit(env, std::move(req), info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function());
}

Napi::Value NativeContext::Cancel(const Napi::CallbackInfo & info) {
    if (scheduler) scheduler->cancel((int64_t) info[0].As<Napi::Number>().Int64Value());
    return info.Env().Undefined();
}

// Positions one sequence can hold (the context is split evenly between sequences).
Napi::Value NativeContext::SequenceSize(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), ctx ? llama_n_ctx_seq(ctx) : 0);
}

Napi::Value NativeContext::Produced(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), produced.load());
}

Napi::Value NativeContext::Abort(const Napi::CallbackInfo & info) {
    abortRequested = true;
    return info.Env().Undefined();
}

// saveSequence(seq, path, tokens: Int32Array): bytes written
Napi::Value NativeContext::SaveSequence(const Napi::CallbackInfo & info) {
    requireIdle(info.Env());
    int32_t seq = info[0].As<Napi::Number>().Int32Value();
    std::string path = info[1].As<Napi::String>().Utf8Value();
    std::vector<llama_token> tokens = tokensOf(info[2]);
    size_t n = llama_state_seq_save_file(ctx, path.c_str(), seq, tokens.data(), tokens.size());
    if (n == 0) throw Napi::Error::New(info.Env(), "could not save the session to " + path);
    return Napi::Number::New(info.Env(), (double) n);
}

// loadSequence(seq, path, capacity): Int32Array of the tokens the state holds
Napi::Value NativeContext::LoadSequence(const Napi::CallbackInfo & info) {
    requireIdle(info.Env());
    int32_t seq = info[0].As<Napi::Number>().Int32Value();
    std::string path = info[1].As<Napi::String>().Utf8Value();
    size_t capacity = info[2].As<Napi::Number>().Uint32Value();
    std::vector<llama_token> tokens(capacity);
    size_t count = 0;
    llama_memory_seq_rm(llama_get_memory(ctx), seq, -1, -1);
    size_t n = llama_state_seq_load_file(ctx, path.c_str(), seq, tokens.data(), tokens.size(), &count);
    if (n == 0) throw Napi::Error::New(info.Env(), "could not load a session from " + path + " (missing, corrupt, or made with another model or context size)");
    Napi::Int32Array out = Napi::Int32Array::New(info.Env(), count);
    for (size_t i = 0; i < count; i++) out[i] = tokens[i];
    return out;
}

Napi::Value NativeContext::Dispose(const Napi::CallbackInfo & info) {
    release();
    modelRef.Reset();
    return info.Env().Undefined();
}
