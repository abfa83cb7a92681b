#include "cpu-threadpool.h"
#include "ggml-backend.h"

bool CpuThreadpool::init() {
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (cpu == nullptr) return false;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
    newFn = (ggml_threadpool_t (*)(ggml_threadpool_params *)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
    freeFn = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free");
    pauseFn = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_pause");
    resumeFn = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_resume");
    return newFn != nullptr && freeFn != nullptr;
}

ggml_threadpool_t CpuThreadpool::pool(int32_t threads) {
    auto it = pools.find(threads);
    if (it != pools.end()) return it->second;
    if (newFn == nullptr) return nullptr;
    ggml_threadpool_params p = ggml_threadpool_params_default(threads);
    p.paused = true;
    ggml_threadpool_t tp = newFn(&p);
    pools[threads] = tp;
    return tp;
}

void CpuThreadpool::use(llama_context * ctx, int32_t threads, int32_t threadsBatch) {
    if (threads == current && threadsBatch == currentBatch) {
        if (paused) {
            if (resumeFn) {
                if (ggml_threadpool_t a = pool(current)) resumeFn(a);
                if (currentBatch != current)
                    if (ggml_threadpool_t b = pool(currentBatch)) resumeFn(b);
            }
            paused = false;
        }
        return;
    }
    pause();
    ggml_threadpool_t a = pool(threads), b = pool(threadsBatch);
    if (a != nullptr) {
        llama_attach_threadpool(ctx, a, b != nullptr && b != a ? b : nullptr);
        if (resumeFn) {
            resumeFn(a);
            if (b != nullptr && b != a) resumeFn(b);
        }
    }
    llama_set_n_threads(ctx, threads, threadsBatch);
    current = threads;
    currentBatch = threadsBatch;
    paused = false;
}

void CpuThreadpool::pause() {
    if (paused) return;
    paused = true;
    if (pauseFn == nullptr) return;
    auto a = pools.find(current), b = pools.find(currentBatch);
    if (a != pools.end() && a->second) pauseFn(a->second);
    if (b != pools.end() && b != a && b->second) pauseFn(b->second);
}

void CpuThreadpool::detach(llama_context * ctx) {
    if (current != 0) llama_detach_threadpool(ctx);
    current = currentBatch = 0;
}

void CpuThreadpool::release() {
    if (freeFn != nullptr)
        for (auto & [n, tp] : pools)
            if (tp) freeFn(tp);
    pools.clear();
    current = currentBatch = 0;
    paused = true;
}
