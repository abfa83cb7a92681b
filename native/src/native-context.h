// NativeContext: the N-API facade over one llama_context (a model node-llama-cpp loaded, several
// sequences) and its Scheduler, the only decode loop. JS submits jobs and gets tokens streamed
// through a thread-safe function and a promise of the result.
#pragma once
#include <napi.h>
#include <memory>
#include "llama.h"
#include "cpu-threadpool.h"
#include "scheduler.h"

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

    void requireOpen(Napi::Env env);
    void requireIdle(Napi::Env env);
    void release();
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
