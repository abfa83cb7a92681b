#include "cpu-threadpool.h"
#include "ggml-backend.h"

void CpuThreadpool::attach(llama_context * ctx, int threads, int threadsBatch) {
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (cpu == nullptr) return;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
    auto newFn = (ggml_threadpool_t (*)(ggml_threadpool_params *)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
    freeFn = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free");
    pauseFn = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_pause");
    resumeFn = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_resume");
    if (newFn == nullptr || freeFn == nullptr) return;
    ggml_threadpool_params p = ggml_threadpool_params_default(threads);
    decode = newFn(&p);
    if (threadsBatch != threads) {
        ggml_threadpool_params pb = ggml_threadpool_params_default(threadsBatch);
        batch = newFn(&pb);
    }
    if (decode != nullptr) llama_attach_threadpool(ctx, decode, batch);
    pause();
}

void CpuThreadpool::detach(llama_context * ctx) {
    if (decode != nullptr) llama_detach_threadpool(ctx);
}

void CpuThreadpool::pause() {
    if (pauseFn == nullptr) return;
    if (decode) pauseFn(decode);
    if (batch) pauseFn(batch);
}

void CpuThreadpool::resume() {
    if (resumeFn == nullptr) return;
    if (decode) resumeFn(decode);
    if (batch) resumeFn(batch);
}

void CpuThreadpool::release() {
    if (freeFn == nullptr) return;
    if (decode) freeFn(decode);
    if (batch) freeFn(batch);
    decode = batch = nullptr;
}
