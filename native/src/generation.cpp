#include "generation.h"
#include "native-context.h"
#include "mtmd-helper.h"
#include "media-chunk.h"
#include <chrono>
#include <algorithm>
#include <memory>

using Clock = std::chrono::steady_clock;
static double msSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

namespace {

struct Job {
    NativeContext * owner;
    GenerationRequest req;
    GenerationResult res;
    Napi::Promise::Deferred deferred;
    Napi::ThreadSafeFunction tokens; // calls onToken(token) on the JS thread
    bool streaming = false;
    Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

} // namespace

bool decodeTokens(llama_context * ctx, uint32_t nBatch, int32_t seq, const std::vector<llama_token> & tokens, int32_t start, std::string & error) {
    llama_batch batch = llama_batch_init((int32_t) nBatch, 0, 1);
    for (size_t i = 0; i < tokens.size(); i += nBatch) {
        size_t n = std::min<size_t>(nBatch, tokens.size() - i);
        batch.n_tokens = (int32_t) n;
        for (size_t j = 0; j < n; j++) {
            batch.token[j] = tokens[i + j];
            batch.pos[j] = start + (int32_t) (i + j);
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = seq;
            batch.logits[j] = (i + j == tokens.size() - 1);
        }
        int32_t rc = llama_decode(ctx, batch);
        if (rc != 0) {
            error = decodeError(rc);
            llama_batch_free(batch);
            return false;
        }
    }
    llama_batch_free(batch);
    return true;
}

namespace {

void run(Job * job) {
    NativeContext * self = job->owner;
    GenerationRequest & req = job->req;
    GenerationResult & res = job->res;
    auto t0 = Clock::now();
    int32_t pos = req.startPos;
    if (!evaluatePrompt(self->ctx, self->nBatch, req.seq, req.prompt, pos, res.promptTokens, res.error)) {
        res.promptComplete = false;
        if (self->abortRequested) { res.error.clear(); res.reason = "aborted"; }
        return;
    }
    res.nextPos = pos;
    if (req.maxTokens == 0) {
        llama_synchronize(self->ctx);
        res.promptMs = msSince(t0);
        res.reason = "prompt";
        return;
    }
    std::string err;
    llama_sampler * smpl = buildSampler(self->vocab, req.sampling, err);
    if (smpl == nullptr) { res.error = err; return; }
    std::unique_ptr<llama_sampler, decltype(&llama_sampler_free)> guard(smpl, llama_sampler_free);
    const bool argmax = isPlainGreedy(req.sampling);
    const int32_t nVocab = llama_vocab_n_tokens(self->vocab);
    Clock::time_point decodeStart;
    llama_batch one = llama_batch_init(1, 0, 1);
    for (;;) {
        llama_token tok = sampleToken(self->ctx, smpl, argmax, nVocab, -1);
        if (res.tokens.empty()) {
            res.ttftMs = msSince(t0);
            res.promptMs = res.ttftMs;
            decodeStart = Clock::now();
        }
        bool more = acceptToken(self->vocab, req, res, tok, job->streaming ? &job->tokens : nullptr);
        self->produced = (int32_t) res.tokens.size();
        if (!more) break;
        if (self->abortRequested) { res.reason = "aborted"; break; }
        one.n_tokens = 1;
        one.token[0] = tok;
        one.pos[0] = pos++;
        one.n_seq_id[0] = 1;
        one.seq_id[0][0] = req.seq;
        one.logits[0] = true;
        int32_t rc = llama_decode(self->ctx, one);
        if (rc == 2 && self->abortRequested) { res.reason = "aborted"; break; } // the abort callback stopped it
        if (rc != 0) { res.error = decodeError(rc); break; }
        res.decodedTokens++;
        res.nextPos = pos;
    }
    llama_batch_free(one);
    if (!res.tokens.empty()) res.decodeMs = msSince(decodeStart);
}

} // namespace

Napi::Object generationResultObject(Napi::Env env, const GenerationResult & r) {
    Napi::Object o = Napi::Object::New(env);
    Napi::Int32Array toks = Napi::Int32Array::New(env, r.tokens.size());
    for (size_t i = 0; i < r.tokens.size(); i++) toks[i] = r.tokens[i];
    o.Set("tokens", toks);
    o.Set("reason", r.reason);
    o.Set("promptMs", r.promptMs);
    o.Set("decodeMs", r.decodeMs);
    o.Set("ttftMs", r.ttftMs);
    o.Set("decodedTokens", r.decodedTokens);
    o.Set("promptComplete", r.promptComplete);
    o.Set("nextPos", r.nextPos);
    o.Set("promptTokens", r.promptTokens);
    return o;
}

bool acceptToken(const llama_vocab * vocab, const GenerationRequest & req, GenerationResult & res, llama_token tok, Napi::ThreadSafeFunction * stream) {
    if (!req.ignoreEog && llama_vocab_is_eog(vocab, tok)) { res.reason = "eog"; return false; }
    if (std::find(req.stopTokens.begin(), req.stopTokens.end(), tok) != req.stopTokens.end()) { res.reason = "stop"; return false; }
    res.tokens.push_back(tok);
    if (stream) stream->NonBlockingCall(new llama_token(tok), [](Napi::Env env, Napi::Function cb, llama_token * t) {
        std::unique_ptr<llama_token> owned(t);
        try {
            cb.Call({Napi::Number::New(env, *owned)});
        } catch (const Napi::Error &) {
            // A throwing onToken callback must not take the generation down; JS sees it as an uncaught error.
        }
    });
    if ((int32_t) res.tokens.size() >= req.maxTokens) { res.reason = "length"; return false; }
    return true;
}

llama_token sampleToken(llama_context * ctx, llama_sampler * smpl, bool argmax, int32_t nVocab, int32_t idx) {
    if (!argmax) return llama_sampler_sample(smpl, ctx, idx); // waits for the logits; also accepts the token
    // Plain greedy needs no candidate list: an argmax over the logits (ties to the lowest id, as
    // llama.cpp's greedy sampler) saves building a vocabulary-sized array for every token.
    const float * logits = llama_get_logits_ith(ctx, idx);
    llama_token tok = 0;
    for (int32_t i = 1; i < nVocab; i++) if (logits[i] > logits[tok]) tok = i;
    return tok;
}

bool evaluatePrompt(llama_context * ctx, uint32_t nBatch, int32_t seq, const std::vector<PromptPiece> & pieces, int32_t & pos, int32_t & evaluated, std::string & error) {
    evaluated = 0;
    for (size_t i = 0; i < pieces.size(); i++) {
        const PromptPiece & piece = pieces[i];
        const bool last = i + 1 == pieces.size();
        if (piece.media) {
            // libmtmd encodes the chunk and places its embeddings at their positions (GLM-4.1V's
            // M-RoPE advances an image by its grid span, not by its token count).
            std::shared_ptr<mtmd_context> encoder = piece.media->encoder.lock();
            if (!encoder) { error = "the encoder (mmproj) was released before its media were evaluated"; return false; }
            llama_pos next = pos;
            int32_t rc = mtmd_helper_eval_chunk_single(encoder.get(), ctx, piece.media->chunk, pos, seq, (int32_t) nBatch, last, &next);
            if (rc != 0) { error = "evaluating the image or audio failed (" + std::to_string(rc) + ")"; return false; }
            evaluated += (int32_t) mtmd_input_chunk_get_n_tokens(piece.media->chunk);
            pos = next;
        } else if (!piece.tokens.empty()) {
            if (!decodeTokens(ctx, nBatch, seq, piece.tokens, pos, error)) return false;
            evaluated += (int32_t) piece.tokens.size();
            pos += (int32_t) piece.tokens.size();
        }
    }
    return true;
}

std::string decodeError(int32_t rc) {
    if (rc == 1) return "the context is full (no KV cache slot left); use a larger --ctx-size";
    if (rc == 2) return "the evaluation was aborted";
    return "llama_decode failed (" + std::to_string(rc) + ")";
}

Napi::Value startGeneration(Napi::Env env, NativeContext * owner, GenerationRequest req, Napi::Function onToken) {
    if (owner->ctx == nullptr) throw Napi::Error::New(env, "the context was disposed");
    bool expected = false;
    if (!owner->busy.compare_exchange_strong(expected, true)) throw Napi::Error::New(env, "the context is busy with another generation");
    owner->joinWorker(); // the previous job's thread has finished its work; reap it
    owner->abortRequested = false;
    owner->produced = 0;
    auto * job = new Job(env);
    job->owner = owner;
    job->req = std::move(req);
    Napi::Promise promise = job->deferred.Promise();
    // One thread-safe function carries both the streamed tokens and the final settlement.
    Napi::Function cb = onToken.IsEmpty() ? Napi::Function::New(env, [](const Napi::CallbackInfo &) {}) : onToken;
    job->streaming = !onToken.IsEmpty();
    try {
        // The Job is freed by the finalizer, after the thread released the function and every queued call ran.
        job->tokens = Napi::ThreadSafeFunction::New(env, cb, "autoglm-generate", 0, 1, [job](Napi::Env) { delete job; });
    } catch (...) {
        owner->busy = false;
        delete job;
        throw;
    }
    owner->Ref(); // keep the context object alive while its thread runs
    try {
        owner->worker = std::thread([job]() {
            job->owner->threadpool.resume(); // started paused, so nothing spins before the first job
            try {
                run(job);
            } catch (const std::exception & e) {
                job->res.error = std::string("generation failed: ") + e.what();
            } catch (...) {
                job->res.error = "generation failed";
            }
            job->tokens.BlockingCall([job](Napi::Env env, Napi::Function) {
                job->owner->busy = false;
                if (!job->res.error.empty()) job->deferred.Reject(Napi::Error::New(env, job->res.error).Value());
                else job->deferred.Resolve(generationResultObject(env, job->res));
                job->owner->Unref();
            });
            job->tokens.Release();
        });
    } catch (...) {
        owner->busy = false;
        owner->Unref();
        job->tokens.Release(); // the finalizer frees the job
        throw Napi::Error::New(env, "could not start the generation thread");
    }
    return promise;
}
