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

struct PendingJob {
    Napi::FunctionReference onToken; // empty: no token callback
    napi_deferred deferred = nullptr;
};

struct JsJobs {
    std::unordered_map<int64_t, std::unique_ptr<PendingJob>> jobs;
    int64_t nextTicket = 1;
    Deliveries tsfn; // to keep the event loop alive exactly while jobs are pending
};

// On the JS thread: a token to the job's callback, or the job's promise settled. With env null (the
// environment is ending and Node drains the queue after the finalizer freed `jobs`), only frees.
// Plain Node-API calls whose failures are ignored: a worker may be terminated at any moment, and
// node-addon-api's throwing wrappers would then abort the whole process.
void deliver(Napi::Env env, Napi::Function, JsJobs * jobs, Delivery * d) {
    std::unique_ptr<Delivery> owned(d);
    if (env == nullptr || jobs == nullptr || d == nullptr) return;
    auto it = jobs->jobs.find(d->ticket);
    if (it == jobs->jobs.end()) return;
    napi_value exception;
    if (!d->done) {
        if (it->second->onToken.IsEmpty()) return;
        napi_value args[2] = {nullptr, nullptr}, self = nullptr, ignored = nullptr;
        if (napi_create_int32(env, d->token, &args[0]) != napi_ok || napi_get_undefined(env, &self) != napi_ok) return;
        // With probabilities asked for, they are the second argument (onToken(token, probs)).
        if (d->withProbs && (args[1] = contract::tokenProbs(env, d->probs)) == nullptr) return;
        // A throwing onToken must not take the scheduler down; its error is dropped here.
        if (napi_call_function(env, self, it->second->onToken.Value(), d->withProbs ? 2 : 1, args, &ignored) == napi_pending_exception)
            napi_get_and_clear_last_exception(env, &exception);
        return;
    }
    std::unique_ptr<PendingJob> job = std::move(it->second);
    jobs->jobs.erase(it);
    if (jobs->jobs.empty()) napi_unref_threadsafe_function(env, jobs->tsfn);
    const bool failed = d->result.failure != Failure::None;
    napi_value v = failed ? contract::failure(env, d->result) : contract::result(env, d->result);
    napi_status st = v == nullptr ? napi_generic_failure : failed ? napi_reject_deferred(env, job->deferred, v) : napi_resolve_deferred(env, job->deferred, v);
    if (st == napi_pending_exception) napi_get_and_clear_last_exception(env, &exception);
}

// new NativeContext(nodeLlamaCppModel, { contextSize, batchSize, ubatchSize, sequences, threads,
//                   threadsBatch, flashAttention: "auto"|"on"|"off", typeK, typeV })
NativeContext::NativeContext(const Napi::CallbackInfo & info) : Napi::ObjectWrap<NativeContext>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    llama_model * model = unwrapNodeLlamaCppModel(info[0]);
    llama_context_params p = contract::contextParams(env, info[1]);
    ctx = llama_init_from_model(model, p);
    if (ctx == nullptr) throw Napi::Error::New(env, "llama.cpp could not create the context (out of memory, or unsupported settings)");
    modelRef = Napi::Persistent(info[0]);
    threadpool.init();
    scheduler = std::make_unique<Scheduler>(ctx, llama_n_batch(ctx), threadpool);
    // Lets a cancel (or dispose) stop the graph being computed, not only the next step.
    llama_set_abort_callback(ctx, [](void * s) { return ((Scheduler *) s)->shouldAbort(); }, scheduler.get());
    auto * jobs = new JsJobs();
    deliveries = Deliveries::New(env, "autoglm-jobs", 0, 1, jobs, [](Napi::Env, void *, JsJobs * j) { delete j; });
    jobs->tsfn = deliveries;
    jsJobs = jobs;
    deliveries.Unref(env); // no job yet: nothing to keep the event loop alive for
    // Added after the thread-safe function, so it runs before that function's own cleanup (last added, first run).
    cleanupHook.emplace(env.AddCleanupHook(&NativeContext::onEnvironmentEnd, this));
}

NativeContext::~NativeContext() { release(false); }

void NativeContext::onEnvironmentEnd(NativeContext * self) { self->release(true); }

void NativeContext::requireOpen(Napi::Env env) {
    if (released || ctx == nullptr) throw Napi::Error::New(env, "the context was disposed");
}

/** Session files are read and written on the JS thread: nothing may run on the context meanwhile. */
void NativeContext::requireIdle(Napi::Env env) {
    requireOpen(env);
    if (scheduler->load() > 0) throw Napi::Error::New(env, "the context is busy");
}

void NativeContext::release(bool environmentEnding) {
    if (released) return;
    released = true;
    // 1. No native thread runs after this: the scheduler's and the encoder's are joined, and the
    //    jobs they left are settled (their deliveries queued).
    if (scheduler) scheduler->stop();
    if (ctx != nullptr) {
        threadpool.detach(ctx);
        llama_free(ctx);
        ctx = nullptr;
    }
    scheduler.reset();
    threadpool.release();
    // 2. Only now the thread-safe function: its queued deliveries still run (unless the environment
    //    is ending), then Node finalizes it.
    if (jsJobs != nullptr) {
        deliveries.Release();
        jsJobs = nullptr;
    }
    if (cleanupHook && !environmentEnding) cleanupHook->Remove(env_);
    cleanupHook.reset();
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

// submit(request, onToken?): { id, done: Promise<result> }. Positions >= startPos of the sequence are
// dropped first, on the scheduler's thread.
Napi::Value NativeContext::Submit(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    requireOpen(env);
    GenerationRequest req = contract::request(env, info[0]);
    sequenceOf(env, Napi::Number::New(env, req.seq));
    if (!info[1].IsUndefined() && !info[1].IsFunction()) throw Napi::TypeError::New(env, "native contract: onToken must be a function");
    auto job = std::make_unique<PendingJob>();
    if (info[1].IsFunction()) job->onToken = Napi::Persistent(info[1].As<Napi::Function>());
    napi_value promise;
    NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &job->deferred, &promise), Napi::Value());
    const int64_t ticket = jsJobs->nextTicket++;
    if (jsJobs->jobs.empty()) deliveries.Ref(env); // a job is pending: keep the event loop alive until it settles
    jsJobs->jobs.emplace(ticket, std::move(job));
    JobCallbacks callbacks;
    Deliveries d = deliveries;
    if (info[1].IsFunction()) {
        callbacks.onToken = [d, ticket](llama_token tok, const TokenProbs * probs) {
            auto * x = new Delivery{ticket, false, tok, {}, probs != nullptr, probs ? *probs : TokenProbs{}};
            if (d.NonBlockingCall(x) != napi_ok) delete x;
        };
    }
    callbacks.onDone = [d, ticket](GenerationResult && r) {
        auto * x = new Delivery{ticket, true, 0, std::move(r), false, {}};
        if (d.BlockingCall(x) != napi_ok) delete x;
    };
    int64_t id = scheduler->submit(std::move(req), std::move(callbacks));
    Napi::Object out = Napi::Object::New(env);
    out.Set("id", Napi::Number::New(env, (double) id));
    out.Set("done", Napi::Value(env, promise));
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
    release(false);
    modelRef.Reset();
    return info.Env().Undefined();
}
