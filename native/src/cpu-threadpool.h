// Persistent ggml CPU threadpools attached to a context. Without one, ggml starts and joins its worker
// threads for every graph, i.e. for every generated token: slower and far noisier. The thread budget
// can give a step fewer threads than the last one; a pool's idle workers spin between graphs, so each
// count has a pool of its own (made at first use) and the pools not in use are paused.
// The CPU backend is loaded dynamically (GGML_BACKEND_DL), so its functions are looked up through the
// backend registry rather than linked.
#pragma once
#include <map>
#include "ggml.h"
#include "llama.h"

class CpuThreadpool {
public:
    /** Finds the CPU backend's threadpool functions; false when there are none (no CPU backend). */
    bool init();
    /** Makes `threads` (token steps) and `threadsBatch` (prompt batches) the context's counts, switching pools if needed. */
    void use(llama_context * ctx, int32_t threads, int32_t threadsBatch);
    /** Pauses the pools in use (their workers sleep until the next use()). */
    void pause();
    void detach(llama_context * ctx);
    void release();

private:
    ggml_threadpool_t (*newFn)(ggml_threadpool_params *) = nullptr;
    void (*freeFn)(ggml_threadpool_t) = nullptr;
    void (*pauseFn)(ggml_threadpool_t) = nullptr;
    void (*resumeFn)(ggml_threadpool_t) = nullptr;
    std::map<int32_t, ggml_threadpool_t> pools; // by thread count
    int32_t current = 0, currentBatch = 0;      // 0: none attached
    bool paused = true;
    ggml_threadpool_t pool(int32_t threads);
};
