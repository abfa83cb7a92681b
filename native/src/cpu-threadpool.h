// A persistent ggml CPU threadpool attached to a context. Without one, ggml starts and joins its
// worker threads for every graph, i.e. for every generated token: slower and far noisier.
// The CPU backend is loaded dynamically (GGML_BACKEND_DL), so its functions are looked up
// through the backend registry rather than linked.
#pragma once
#include "llama.h"
#include "ggml.h"

class CpuThreadpool {
public:
    void attach(llama_context * ctx, int threads, int threadsBatch);
    void detach(llama_context * ctx);
    void pause();
    void resume();
    void release();

private:
    ggml_threadpool_t decode = nullptr;
    ggml_threadpool_t batch = nullptr;
    void (*freeFn)(ggml_threadpool_t) = nullptr;
    void (*pauseFn)(ggml_threadpool_t) = nullptr;
    void (*resumeFn)(ggml_threadpool_t) = nullptr;
};
