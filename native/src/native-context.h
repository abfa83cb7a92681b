// NativeContext: the N-API facade over one llama_context (a model node-llama-cpp loaded, several
// sequences) and its Scheduler, the only decode loop. JS submits jobs and gets tokens streamed, and
// each job's result settled, through one thread-safe function per context.
//
// Teardown order (dispose, garbage collection, or the end of the Node environment, e.g. a worker
// thread terminated with jobs running): stop and join the scheduler's and the encoder's threads,
// free the llama_context, and only then release the thread-safe function, so no native thread can
// call into it after Node finalizes it. The environment's end is caught by a cleanup hook added
// after the thread-safe function was made: Node runs cleanup hooks last-added first, so the hook
// runs before the thread-safe function's own.
#pragma once
#include <napi.h>
#include <memory>
#include <optional>
#include <unordered_map>
#include "cpu-threadpool.h"
#include "llama.h"
#include "scheduler.h"

/** What the scheduler's thread hands to the JS thread: a streamed token, or a finished job. */
struct Delivery {
    int64_t ticket = 0;
    bool done = false;
    llama_token token = 0;
    GenerationResult result;
    bool withProbs = false;  // a token with its probabilities (the job asked for logprobs)
    TokenProbs probs;
};

/** The JS side of a context's jobs (JS thread only); owned by the thread-safe function, freed by its finalizer. */
struct JsJobs;

void deliver(Napi::Env env, Napi::Function, JsJobs * jobs, Delivery * d);
using Deliveries = Napi::TypedThreadSafeFunction<JsJobs, Delivery, deliver>;

class NativeContext : public Napi::ObjectWrap<NativeContext> {
public:
    static Napi::Function Define(Napi::Env env);
    explicit NativeContext(const Napi::CallbackInfo & info);
    ~NativeContext() override;

private:
    llama_context * ctx = nullptr;
    CpuThreadpool threadpool; // persistent ggml worker threads
    std::unique_ptr<Scheduler> scheduler;
    Napi::Reference<Napi::Value> modelRef; // keeps node-llama-cpp's model alive while we use it
    Deliveries deliveries;
    JsJobs * jsJobs = nullptr;             // valid until `deliveries` is finalized; used only while open
    bool released = false;
    std::optional<Napi::Env::CleanupHook<void (*)(NativeContext *), NativeContext>> cleanupHook;
    Napi::Env env_;

    static void onEnvironmentEnd(NativeContext * self);
    void requireOpen(Napi::Env env);
    void requireIdle(Napi::Env env);
    void release(bool environmentEnding);
    int32_t sequenceOf(Napi::Env env, const Napi::Value & v);
    Napi::Value ContextSize(const Napi::CallbackInfo & info);
    Napi::Value SequenceSize(const Napi::CallbackInfo & info);
    Napi::Value Submit(const Napi::CallbackInfo & info);
    Napi::Value Cancel(const Napi::CallbackInfo & info);
    Napi::Value Produced(const Napi::CallbackInfo & info);
    Napi::Value SaveSequence(const Napi::CallbackInfo & info);
    Napi::Value LoadSequence(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
};
