#include "batch-scheduler.h"
#include "native-context.h"
#include <algorithm>
#include <chrono>
#include <memory>

using Clock = std::chrono::steady_clock;
static double msSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct BatchJob {
    int64_t id = 0;
    GenerationRequest req;
    GenerationResult res;
    Napi::Promise::Deferred deferred;
    Napi::ThreadSafeFunction tokens;
    bool streaming = false;
    llama_sampler * sampler = nullptr;
    bool argmax = false;
    int32_t pos = 0;
    llama_token pending = 0; // sampled, to be decoded in the next step
    Clock::time_point started, decodeStart;
    explicit BatchJob(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
    ~BatchJob() { if (sampler) llama_sampler_free(sampler); }
};

Napi::Value BatchScheduler::submit(Napi::Env env, GenerationRequest req, Napi::Function onToken) {
    auto * job = new BatchJob(env);
    job->req = std::move(req);
    job->streaming = !onToken.IsEmpty();
    Napi::Function cb = onToken.IsEmpty() ? Napi::Function::New(env, [](const Napi::CallbackInfo &) {}) : onToken;
    job->tokens = Napi::ThreadSafeFunction::New(env, cb, "autoglm-batch", 0, 1, [job](Napi::Env) { delete job; });
    Napi::Object out = Napi::Object::New(env);
    out.Set("done", job->deferred.Promise());
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping) {
            job->res.error = "the context was disposed";
            finish(job);
            out.Set("id", Napi::Number::New(env, 0));
            return out;
        }
        job->id = nextId++;
        incoming.push_back(job);
        count++;
        if (!thread.joinable()) {
            owner->Ref(); // the context stays alive while its scheduler thread runs (until dispose)
            referenced = true;
            thread = std::thread([this]() { loop(); });
        }
    }
    wake.notify_one();
    out.Set("id", Napi::Number::New(env, (double) job->id));
    return out;
}

void BatchScheduler::cancel(int64_t id) {
    std::lock_guard<std::mutex> lock(mutex);
    cancelled.push_back(id);
}

size_t BatchScheduler::load() {
    std::lock_guard<std::mutex> lock(mutex);
    return count;
}

void BatchScheduler::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping) return;
        stopping = true;
    }
    wake.notify_one();
    if (thread.joinable()) thread.join();
    if (referenced) { referenced = false; owner->Unref(); }
}

/** Settles the job's promise on the JS thread and releases its thread-safe function (which frees it). */
void BatchScheduler::finish(BatchJob * job) {
    if (!job->res.tokens.empty()) job->res.decodeMs = msSince(job->decodeStart);
    job->tokens.BlockingCall([job](Napi::Env env, Napi::Function) {
        if (!job->res.error.empty()) job->deferred.Reject(Napi::Error::New(env, job->res.error).Value());
        else job->deferred.Resolve(generationResultObject(env, job->res));
    });
    job->tokens.Release();
}

/** Evaluates the job's prompt into its sequence and samples its first token; false when the job is over. */
bool BatchScheduler::admit(BatchJob * job) {
    NativeContext * self = owner;
    GenerationRequest & req = job->req;
    job->started = Clock::now();
    // The sequence keeps what the caller reuses (positions < startPos); the rest goes.
    llama_memory_seq_rm(llama_get_memory(self->ctx), req.seq, req.startPos, -1);
    job->pos = req.startPos;
    if (!evaluatePrompt(self->ctx, self->nBatch, req.seq, req.prompt, job->pos, job->res.promptTokens, job->res.error)) {
        job->res.promptComplete = false;
        return false;
    }
    job->res.nextPos = job->pos;
    std::string err;
    job->sampler = buildSampler(self->vocab, req.sampling, err);
    if (job->sampler == nullptr) { job->res.error = err; return false; }
    job->argmax = isPlainGreedy(req.sampling);
    return true;
}

void BatchScheduler::loop() {
    owner->threadpool.resume();
    const int32_t nVocab = llama_vocab_n_tokens(owner->vocab);
    // Takes a sampled token: true when the job goes on (the token is decoded next step).
    auto accept = [&](BatchJob * job, llama_token tok) {
        GenerationResult & res = job->res;
        if (res.tokens.empty()) {
            res.ttftMs = res.promptMs = msSince(job->started);
            job->decodeStart = Clock::now();
        }
        if (!acceptToken(owner->vocab, job->req, res, tok, job->streaming ? &job->tokens : nullptr)) return false;
        job->pending = tok;
        return true;
    };
    llama_batch batch = llama_batch_init((int32_t) std::max<uint32_t>(owner->nBatch, 1), 0, 1);
    for (;;) {
        std::vector<BatchJob *> fresh;
        std::vector<int64_t> cancels;
        {
            std::unique_lock<std::mutex> lock(mutex);
            wake.wait(lock, [&]() { return stopping || !incoming.empty() || !running.empty(); });
            if (stopping) {
                for (auto * j : incoming) running.push_back(j);
                incoming.clear();
                for (auto * j : running) { j->res.error = "the context was disposed"; finish(j); }
                running.clear();
                count = 0;
                break;
            }
            fresh.assign(incoming.begin(), incoming.end());
            incoming.clear();
            cancels.swap(cancelled);
        }
        auto isCancelled = [&](BatchJob * j) { return std::find(cancels.begin(), cancels.end(), j->id) != cancels.end(); };
        std::vector<BatchJob *> done;
        for (auto * job : fresh) {
            if (isCancelled(job)) { job->res.reason = "aborted"; job->res.promptComplete = false; done.push_back(job); continue; }
            if (!admit(job)) { done.push_back(job); continue; }
            if (job->req.maxTokens == 0) { job->res.reason = "prompt"; job->res.promptMs = msSince(job->started); done.push_back(job); continue; }
            llama_token tok = sampleToken(owner->ctx, job->sampler, job->argmax, nVocab, -1);
            if (accept(job, tok)) running.push_back(job); else done.push_back(job);
        }
        // Cancelled jobs leave before the step; their last token was only sampled.
        for (auto it = running.begin(); it != running.end();) {
            if (isCancelled(*it)) { (*it)->res.reason = "aborted"; done.push_back(*it); it = running.erase(it); } else ++it;
        }
        if (!running.empty()) {
            // One step: the pending token of every running job, each in its own sequence.
            size_t n = std::min<size_t>(running.size(), owner->nBatch);
            batch.n_tokens = (int32_t) n;
            for (size_t i = 0; i < n; i++) {
                BatchJob * j = running[i];
                batch.token[i] = j->pending;
                batch.pos[i] = j->pos;
                batch.n_seq_id[i] = 1;
                batch.seq_id[i][0] = j->req.seq;
                batch.logits[i] = true;
            }
            int32_t rc = llama_decode(owner->ctx, batch);
            std::vector<BatchJob *> next;
            for (size_t i = 0; i < running.size(); i++) {
                BatchJob * j = running[i];
                if (i >= n) { next.push_back(j); continue; } // beyond one batch: waits a step
                if (rc != 0) { j->res.error = decodeError(rc); done.push_back(j); continue; }
                j->pos++;
                j->res.decodedTokens++;
                j->res.nextPos = j->pos;
                if (accept(j, sampleToken(owner->ctx, j->sampler, j->argmax, nVocab, (int32_t) i))) next.push_back(j); else done.push_back(j);
            }
            running.swap(next);
        }
        if (!done.empty()) {
            std::lock_guard<std::mutex> lock(mutex);
            count -= done.size();
        }
        for (auto * j : done) finish(j);
    }
    llama_batch_free(batch);
}
