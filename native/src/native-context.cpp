#include "native-context.h"
#include "contract.h"
#include "model-handle.h"

Napi::Function NativeContext::Define(Napi::Env env) {
    return DefineClass(env, "NativeContext", {
        InstanceMethod("contextSize", &NativeContext::ContextSize),
        InstanceMethod("sequenceSize", &NativeContext::SequenceSize),
        InstanceMethod("submit", &NativeContext::Submit),
        InstanceMethod("cancel", &NativeContext::Cancel),
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
    llama_model * model = unwrapNodeLlamaCppModel(info[0]);
    llama_context_params p = contract::contextParams(env, info[1]);
    modelRef = Napi::Persistent(info[0]);
    ctx = llama_init_from_model(model, p);
    if (ctx == nullptr) throw Napi::Error::New(env, "llama.cpp could not create the context (out of memory, or unsupported settings)");
    threadpool.attach(ctx, p.n_threads, p.n_threads_batch);
    scheduler = std::make_unique<Scheduler>(ctx, llama_n_batch(ctx), threadpool);
    // Lets a cancel (or dispose) stop the graph being computed, not only the next step.
    llama_set_abort_callback(ctx, [](void * s) { return ((Scheduler *) s)->shouldAbort(); }, scheduler.get());
}

NativeContext::~NativeContext() { release(); }

void NativeContext::requireOpen(Napi::Env env) {
    if (ctx == nullptr) throw Napi::Error::New(env, "the context was disposed");
}

/** Session files are read and written on the JS thread: nothing may run on the context meanwhile. */
void NativeContext::requireIdle(Napi::Env env) {
    requireOpen(env);
    if (scheduler->load() > 0) throw Napi::Error::New(env, "the context is busy");
}

void NativeContext::release() {
    if (scheduler) scheduler->stop();
    if (ctx != nullptr) {
        threadpool.detach(ctx);
        llama_free(ctx);
        ctx = nullptr;
    }
    scheduler.reset();
    threadpool.release();
}

/** A sequence id of this context, or a RangeError (llama.cpp asserts on others; -1 would mean all). */
int32_t NativeContext::sequenceOf(Napi::Env env, const Napi::Value & v) {
    int32_t seq = contract::int32(env, v, "seq");
    if (seq < 0 || (uint32_t) seq >= llama_n_seq_max(ctx)) throw Napi::RangeError::New(env, "no such sequence");
    return seq;
}

Napi::Value NativeContext::ContextSize(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), ctx ? llama_n_ctx(ctx) : 0);
}

// KV cells one sequence holds (the context is split evenly between its sequences).
Napi::Value NativeContext::SequenceSize(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), ctx ? llama_n_ctx_seq(ctx) : 0);
}

namespace {
// A kept token on its way to JS, with its probabilities when the job asked for them.
struct SentToken {
    llama_token token;
    bool withProbs;
    TokenProbs probs;
};

// What one job's thread-safe function carries: a streamed token, or the settlement.
struct Settlement {
    Napi::Promise::Deferred deferred;
    GenerationResult result;
    explicit Settlement(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};
} // namespace

// submit(request, onToken?): { id, done: Promise<result> }. Positions >= startPos of the sequence are
// dropped first, on the scheduler's thread.
Napi::Value NativeContext::Submit(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    requireOpen(env);
    GenerationRequest req = contract::request(env, info[0]);
    sequenceOf(env, Napi::Number::New(env, req.seq));
    if (!info[1].IsUndefined() && !info[1].IsFunction()) throw Napi::TypeError::New(env, "native contract: onToken must be a function");
    Napi::Function cb = info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function::New(env, [](const Napi::CallbackInfo &) {});
    auto * settle = new Settlement(env);
    Napi::Promise promise = settle->deferred.Promise();
    // The settlement is freed by the finalizer, after every queued call ran.
    auto tsfn = std::make_shared<Napi::ThreadSafeFunction>(Napi::ThreadSafeFunction::New(env, cb, "autoglm-job", 0, 1, [settle](Napi::Env) { delete settle; }));
    JobCallbacks callbacks;
    if (info[1].IsFunction()) {
        const llama_vocab * vocab = llama_model_get_vocab(llama_get_model(ctx));
        callbacks.onToken = [tsfn, vocab](llama_token tok, const TokenProbs * probs) {
            auto * sent = new SentToken{tok, probs != nullptr, probs ? *probs : TokenProbs{}};
            tsfn->NonBlockingCall(sent, [vocab](Napi::Env env, Napi::Function fn, SentToken * t) {
                std::unique_ptr<SentToken> owned(t);
                try {
                    if (!owned->withProbs) fn.Call({Napi::Number::New(env, owned->token)});
                    else fn.Call({Napi::Number::New(env, owned->token), contract::tokenProbs(env, vocab, owned->token, owned->probs)});
                } catch (const Napi::Error &) {
                    // A throwing onToken must not take the scheduler down; the error is dropped here.
                }
            });
        };
    }
    callbacks.onDone = [tsfn, settle](GenerationResult && r) {
        settle->result = std::move(r);
        tsfn->BlockingCall([settle](Napi::Env env, Napi::Function) {
            if (settle->result.failure != Failure::None) settle->deferred.Reject(contract::failure(env, settle->result).Value());
            else settle->deferred.Resolve(contract::result(env, settle->result));
        });
        tsfn->Release();
    };
    int64_t id = scheduler->submit(std::move(req), std::move(callbacks));
    Napi::Object out = Napi::Object::New(env);
    out.Set("id", Napi::Number::New(env, (double) id));
    out.Set("done", promise);
    return out;
}

Napi::Value NativeContext::Cancel(const Napi::CallbackInfo & info) {
    int64_t id = (int64_t) contract::int32(info.Env(), info[0], "id");
    if (scheduler) scheduler->cancel(id);
    return info.Env().Undefined();
}

// produced(id): tokens the job has sampled so far (0 once it is over).
Napi::Value NativeContext::Produced(const Napi::CallbackInfo & info) {
    int64_t id = (int64_t) contract::int32(info.Env(), info[0], "id");
    return Napi::Number::New(info.Env(), scheduler ? scheduler->produced(id) : 0);
}

// saveSequence(seq, path, tokens: Int32Array, positions): bytes written. Positions >= `positions`
// are dropped first, so the file holds exactly what the caller's record says the sequence holds.
Napi::Value NativeContext::SaveSequence(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    requireIdle(env);
    int32_t seq = sequenceOf(env, info[0]);
    std::string path = contract::string(env, info[1], "path");
    std::vector<llama_token> tokens = contract::tokens(env, info[2], "tokens");
    int32_t positions = contract::int32(env, info[3], "positions");
    if (positions < 0) throw Napi::RangeError::New(env, "positions must be >= 0");
    llama_memory_seq_rm(llama_get_memory(ctx), seq, positions, -1);
    size_t n = llama_state_seq_save_file(ctx, path.c_str(), seq, tokens.data(), tokens.size());
    if (n == 0) throw Napi::Error::New(env, "could not save the session to " + path);
    return Napi::Number::New(env, (double) n);
}

// loadSequence(seq, path, capacity): Int32Array of the tokens the state holds
Napi::Value NativeContext::LoadSequence(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    requireIdle(env);
    int32_t seq = sequenceOf(env, info[0]);
    std::string path = contract::string(env, info[1], "path");
    int32_t capacity = contract::int32(env, info[2], "capacity");
    if (capacity < 0) throw Napi::RangeError::New(env, "capacity must be >= 0");
    std::vector<llama_token> tokens((size_t) capacity);
    size_t count = 0;
    llama_memory_seq_rm(llama_get_memory(ctx), seq, -1, -1);
    size_t n = llama_state_seq_load_file(ctx, path.c_str(), seq, tokens.data(), tokens.size(), &count);
    if (n == 0) throw Napi::Error::New(env, "could not load a session from " + path + " (missing, corrupt, or made with another model or context size)");
    Napi::Int32Array out = Napi::Int32Array::New(env, count);
    for (size_t i = 0; i < count; i++) out[i] = tokens[i];
    return out;
}

Napi::Value NativeContext::Dispose(const Napi::CallbackInfo & info) {
    release();
    modelRef.Reset();
    return info.Env().Undefined();
}
