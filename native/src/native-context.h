// NativeContext: a llama_context over a model node-llama-cpp loaded, with several sequences.
// Evaluation and the whole generation loop (decode -> sample -> decode) run on a thread of the
// context's own, streaming tokens to JS through a thread-safe function.
#pragma once
#include <napi.h>
#include <atomic>
#include <mutex>
#include <thread>
#include "llama.h"
#include "cpu-threadpool.h"
#include <memory>

class BatchScheduler;

class NativeContext : public Napi::ObjectWrap<NativeContext> {
public:
    static Napi::Function Define(Napi::Env env);
    explicit NativeContext(const Napi::CallbackInfo & info);
    ~NativeContext() override;

    llama_context * ctx = nullptr;
    const llama_model * model = nullptr;
    const llama_vocab * vocab = nullptr;
    uint32_t nBatch = 512;
    std::atomic_bool abortRequested{false};
    std::atomic_bool busy{false};
    std::atomic_int32_t produced{0}; // tokens sampled by the running job, readable from JS
    std::thread worker;
    CpuThreadpool threadpool; // persistent ggml worker threads, paused between jobs
    std::unique_ptr<BatchScheduler> scheduler; // batched jobs of several sequences (the server's slots)
    void joinWorker();
    void requireIdle(Napi::Env env);

private:
    Napi::Reference<Napi::Value> modelRef; // keeps node-llama-cpp's model alive while we use it
    Napi::Value ContextSize(const Napi::CallbackInfo & info);
    Napi::Value RemoveTokens(const Napi::CallbackInfo & info);
    Napi::Value Evaluate(const Napi::CallbackInfo & info);
    Napi::Value Generate(const Napi::CallbackInfo & info);
    Napi::Value Submit(const Napi::CallbackInfo & info);
    Napi::Value Cancel(const Napi::CallbackInfo & info);
    Napi::Value SequenceSize(const Napi::CallbackInfo & info);
    Napi::Value Abort(const Napi::CallbackInfo & info);
    Napi::Value Produced(const Napi::CallbackInfo & info);
    Napi::Value SaveSequence(const Napi::CallbackInfo & info);
    Napi::Value LoadSequence(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
    void release();
};
