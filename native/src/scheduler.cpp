#include "scheduler.h"
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include "step.h"

namespace {
double msSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}
} // namespace

struct Job {
    int64_t id = 0;
    GenerationRequest req;
    GenerationResult res;
    JobCallbacks cb;
    std::shared_ptr<std::atomic<int32_t>> produced = std::make_shared<std::atomic<int32_t>>(0);
    llama_sampler * sampler = nullptr;
    bool argmax = false;
    bool generating = false;   // the prompt is in; `pending` is the next token to decode
    bool over = false;         // picked to finish at the end of this step
    size_t piece = 0;          // next prompt piece to evaluate
    size_t offset = 0;         // cells of that piece already evaluated
    int32_t pos = 0;           // next position of the sequence
    std::vector<std::shared_ptr<Encoding>> encodings; // per prompt piece (null for text)
    llama_token pending = 0;
    std::chrono::steady_clock::time_point started, decodeStart;
    ~Job() {
        if (sampler) llama_sampler_free(sampler);
        for (auto & e : encodings) if (e) e->dropped = true;
    }
};

Scheduler::Scheduler(llama_context * ctx, uint32_t nBatch, CpuThreadpool & threadpool)
    : ctx(ctx), vocab(llama_model_get_vocab(llama_get_model(ctx))), nBatch(std::max<uint32_t>(nBatch, 1)),
      nVocab(llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)))), threadpool(threadpool),
      maxThreads(std::max<int32_t>(1, llama_n_threads(ctx))), maxThreadsBatch(std::max<int32_t>(1, llama_n_threads_batch(ctx))),
      encoder(llama_model_n_embd_inp(llama_get_model(ctx)), [this]() { std::lock_guard<std::mutex> lock(mutex); wake.notify_one(); }) {
    const char * fault = std::getenv("AUTOGLM_TEST_FAULT");
    injectDecodeFault = fault != nullptr && std::strcmp(fault, "decode") == 0;
    tokens = llama_batch_init((int32_t) this->nBatch, 0, 1);
    for (llama_token t = 0; t < nVocab; t++)
        if (llama_vocab_is_eog(vocab, t)) endOfGeneration.push_back(t);
}

Scheduler::~Scheduler() {
    stop();
    llama_batch_free(tokens);
}

int64_t Scheduler::submit(GenerationRequest req, JobCallbacks cb) {
    auto * job = new Job();
    job->req = std::move(req);
    job->cb = std::move(cb);
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (!stopping) {
            job->id = nextId++;
            counters[job->id] = job->produced;
            incoming.push_back(job);
            count++;
            if (!thread.joinable()) thread = std::thread([this]() { loop(); });
            wake.notify_one();
            return job->id;
        }
    }
    job->res.fail(Failure::Internal, "the context was disposed");
    JobCallbacks done = std::move(job->cb);
    GenerationResult r = std::move(job->res);
    delete job;
    done.onDone(std::move(r));
    return 0;
}

void Scheduler::cancel(int64_t id) {
    std::lock_guard<std::mutex> lock(mutex);
    cancelled.insert(id);
    // Stop the graph being computed only when it serves nothing but cancelled jobs.
    if (!inFlight.empty() && std::all_of(inFlight.begin(), inFlight.end(), [&](int64_t j) { return cancelled.count(j) > 0; })) abortNow = true;
    wake.notify_one();
}

int32_t Scheduler::produced(int64_t id) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = counters.find(id);
    return it == counters.end() ? 0 : it->second->load();
}

bool Scheduler::stoppingNow() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping;
}

size_t Scheduler::load() {
    std::lock_guard<std::mutex> lock(mutex);
    return count;
}

void Scheduler::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping && !thread.joinable()) return;
        stopping = true;
        abortNow = true;
    }
    wake.notify_one();
    if (thread.joinable()) thread.join();
    encoder.stop();
    // Jobs submitted after the thread ended (none reach here once stopping is set) and those it left.
    std::vector<Job *> left;
    {
        std::lock_guard<std::mutex> lock(mutex);
        left.assign(incoming.begin(), incoming.end());
        incoming.clear();
    }
    left.insert(left.end(), jobs.begin(), jobs.end());
    jobs.clear();
    for (Job * j : left) {
        j->res.fail(Failure::Internal, "the context was disposed");
        finish(j);
    }
}

void Scheduler::loop() {
    for (;;) {
        std::vector<Job *> fresh;
        std::set<int64_t> cancels;
        {
            std::unique_lock<std::mutex> lock(mutex);
            if (!stopping && incoming.empty() && cancelled.empty() && !runnable()) {
                // Nothing to compute: the budget's threads go to the others, this context's pool sleeps.
                share.idle();
                threadpool.pause();
                wake.wait(lock, [&]() { return stopping || !incoming.empty() || !cancelled.empty() || runnable(); });
            }
            if (stopping) {
                share.idle();
                threadpool.pause();
                return;
            }
            fresh.assign(incoming.begin(), incoming.end());
            incoming.clear();
            cancels.swap(cancelled);
        }
        for (Job * j : fresh) {
            bool ok = false;
            try {
                ok = admit(j);
            } catch (const std::exception & e) {
                j->res.fail(Failure::Internal, std::string("could not start the job: ") + e.what());
            }
            if (ok) jobs.push_back(j);
            else finish(j);
        }
        for (auto it = jobs.begin(); it != jobs.end();) {
            if (cancels.count((*it)->id) == 0) { ++it; continue; }
            (*it)->res.reason = "aborted";
            finish(*it);
            it = jobs.erase(it);
        }
        if (runnable()) step();
    }
}

bool Scheduler::runnable() const {
    bool generating = false, encoding = false, prefill = false;
    for (const Job * j : jobs) {
        generating = generating || j->generating;
        for (size_t i = j->piece; i < j->encodings.size(); i++) encoding = encoding || (j->encodings[i] && j->encodings[i]->state == Encoding::Pending);
        if (!j->generating) prefill = prefill || !j->req.prompt[j->piece].media || j->encodings[j->piece]->state != Encoding::Pending;
    }
    // Running streams never wait. With none, prompt work waits while the encoder runs: the two
    // would only share the same cores (one thread budget), each slower than alone.
    return generating || (prefill && !encoding);
}

bool Scheduler::admit(Job * job) {
    GenerationRequest & req = job->req;
    job->started = Clock::now();
    req.prompt.erase(std::remove_if(req.prompt.begin(), req.prompt.end(), [](const PromptPiece & p) { return !p.media && p.tokens.empty(); }), req.prompt.end());
    if (req.prompt.empty() || req.prompt.back().media) {
        job->res.fail(Failure::Internal, "a prompt must end with text");
        return false;
    }
    if (req.startPos > (int32_t) llama_n_ctx_seq(ctx)) {
        job->res.fail(Failure::Internal, "the start position is beyond the sequence's context");
        return false;
    }
    for (const Job * other : jobs) {
        if (other->req.seq == req.seq) {
            job->res.fail(Failure::Internal, "another job is running on this sequence");
            return false;
        }
    }
    for (const llama_logit_bias & b : req.sampling.logitBias) {
        if (b.token < 0 || b.token >= nVocab) {
            job->res.fail(Failure::User, "a logit_bias token id is outside the vocabulary");
            return false;
        }
    }
    for (const PromptPiece & p : req.prompt) {
        for (llama_token t : p.tokens) {
            if (t < 0 || t >= nVocab) {
                job->res.fail(Failure::Internal, "a prompt token is outside the vocabulary");
                return false;
            }
        }
        if (!p.media) continue;
        // Media with bidirectional attention are decoded in one piece, which must fit one micro-batch.
        std::shared_ptr<mtmd_context> enc = p.media->encoder.lock();
        if (enc && mtmd_decode_use_non_causal(enc.get(), p.media->chunk) && p.cells() > llama_n_ubatch(ctx)) {
            job->res.fail(Failure::User, "this image needs " + std::to_string(p.cells()) + " embeddings in one batch; raise --batch-size");
            return false;
        }
    }
    if (req.copyFrom >= 0) {
        // Another choice of the same prompt: the source's cells below startPos are its prompt, which
        // its own jobs never trim (a copy across KV streams copies the whole stream, at the next decode).
        if (req.copyFrom == req.seq || (uint32_t) req.copyFrom >= llama_n_seq_max(ctx)) {
            job->res.fail(Failure::Internal, "copyFrom must name another sequence of this context");
            return false;
        }
        llama_memory_seq_rm(llama_get_memory(ctx), req.seq, -1, -1);
        llama_memory_seq_cp(llama_get_memory(ctx), req.copyFrom, req.seq, -1, -1);
    }
    // The sequence keeps what the caller reuses (positions < startPos); the rest goes.
    if (!llama_memory_seq_rm(llama_get_memory(ctx), req.seq, req.startPos, -1)) {
        job->res.fail(Failure::Internal, "could not trim the sequence's KV cache");
        return false;
    }
    job->pos = job->res.nextPos = req.startPos;
    if (req.maxTokens > 0) {
        if (req.ignoreEog) {
            // Every token that would end the answer is banned, as llama-server's ignore_eos does for
            // llama.cpp's end-of-generation set; the stop tokens end answers the same way here.
            req.sampling.banned = endOfGeneration;
            for (llama_token t : req.stopTokens)
                if (t >= 0 && t < nVocab && !llama_vocab_is_eog(vocab, t)) req.sampling.banned.push_back(t);
        }
        std::string err;
        job->sampler = buildSampler(vocab, req.sampling, err);
        if (job->sampler == nullptr) {
            job->res.fail(Failure::User, err);
            return false;
        }
        job->argmax = isPlainGreedy(req.sampling);
    }
    // Media are encoded ahead, in order, on the encoder's thread, while text before them is decoded.
    job->encodings.resize(req.prompt.size());
    for (size_t i = 0; i < req.prompt.size(); i++) {
        if (req.prompt[i].media) job->encodings[i] = encoder.encode(req.prompt[i].media);
    }
    return true;
}

int32_t Scheduler::decode(llama_batch & batch, const std::vector<Job *> & members) {
    {
        std::lock_guard<std::mutex> lock(mutex);
        for (Job * j : members) inFlight.insert(j->id);
        // Cancelled after this step began: no need to compute for them.
        if (std::all_of(members.begin(), members.end(), [&](Job * j) { return cancelled.count(j->id) > 0; })) abortNow = true;
    }
    int32_t rc = injectDecodeFault ? -99 : llama_decode(ctx, batch);
    {
        std::lock_guard<std::mutex> lock(mutex);
        inFlight.clear();
        if (!stopping) abortNow = false;
    }
    return rc;
}

/** This step's threads from the budget (thread-budget.h), the context's counts at most. */
int32_t Scheduler::takeThreads() {
    const int32_t n = share.ask(std::max(maxThreads, maxThreadsBatch));
    threadpool.use(ctx, std::min(n, maxThreads), std::min(n, maxThreadsBatch));
    return n;
}

void Scheduler::step() {
    const int32_t threads = takeThreads();
    for (Job * j : jobs) {
        j->res.minThreads = j->res.minThreads == 0 ? threads : std::min(j->res.minThreads, threads);
        j->res.maxThreads = std::max(j->res.maxThreads, threads);
    }
    std::vector<Job *> done;
    auto end = [&](Job * j) { if (!j->over) { j->over = true; done.push_back(j); } };
    llama_batch & b = tokens;
    b.n_tokens = 0;
    auto add = [&](Job * j, llama_token t, llama_pos p, bool logits) {
        int32_t i = b.n_tokens++;
        b.token[i] = t;
        b.pos[i] = p;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = j->req.seq;
        b.logits[i] = logits;
        return i;
    };
    struct Row { Job * job; int32_t row; };
    std::vector<Row> rows;           // rows whose logits are sampled: running jobs, and prompts that end here
    std::vector<Job *> members;      // jobs with tokens in the batch
    for (Job * j : jobs) {
        if (!j->generating || (uint32_t) b.n_tokens >= nBatch) continue;
        rows.push_back({j, add(j, j->pending, j->pos, true)});
        members.push_back(j);
    }
    const size_t running = rows.size();

    // Pending prompt, in admission order, up to one n_batch in all: text into this batch, and at
    // most one slice of media embeddings decoded right after it.
    int32_t budget = (int32_t) nBatch - b.n_tokens;
    Job * embdJob = nullptr;
    int32_t embdCount = 0;
    for (Job * j : jobs) {
        if (j->generating) continue;
        if (budget <= 0) break;
        bool text = false, took = false;
        const auto & prompt = j->req.prompt;
        while (budget > 0 && j->piece < prompt.size()) {
            const PromptPiece & p = prompt[j->piece];
            if (!p.media) {
                const int32_t k = std::min<int32_t>(budget, (int32_t) (p.tokens.size() - j->offset));
                for (int32_t t = 0; t < k; t++) {
                    const bool last = j->piece + 1 == prompt.size() && j->offset + t + 1 == p.tokens.size();
                    int32_t row = add(j, p.tokens[j->offset + t], j->pos++, last);
                    if (last) rows.push_back({j, row});
                }
                j->offset += k;
                j->res.promptTokens += k;
                budget -= k;
                text = took = true;
                if (j->offset == p.tokens.size()) { j->piece++; j->offset = 0; }
                continue;
            }
            if (embdJob) break;
            Encoding & e = *j->encodings[j->piece];
            if (e.state == Encoding::Pending) break;
            if (e.state == Encoding::Failed) { j->res.fail(Failure::Internal, "encoding the image or audio failed: " + e.error); end(j); break; }
            embdJob = j;
            embdCount = std::min<int32_t>(budget, (int32_t) (p.cells() - j->offset));
            // Bidirectional attention needs the whole chunk in one decode (checked against n_ubatch at admission).
            std::shared_ptr<mtmd_context> enc = p.media->encoder.lock();
            if (enc && mtmd_decode_use_non_causal(enc.get(), p.media->chunk)) embdCount = (int32_t) (p.cells() - j->offset);
            budget -= embdCount;
            took = true;
            break; // text after the media waits for the next step
        }
        if (text) members.push_back(j);
        if (took) {
            j->res.promptSteps++;
            if (running > 0) j->res.sharedSteps++;
        }
    }

    if (b.n_tokens > 0) {
        int32_t rc = decode(b, members);
        if (rc != 0) {
            for (Job * j : members) {
                if (rc == 2 && !stoppingNow()) j->res.reason = "aborted"; // only when every job in it was cancelled
                else j->res.fail(Failure::Internal, rc == 2 ? "the context was disposed" : decodeError(rc));
                end(j);
            }
            rows.clear();
        }
        // Sample before any other decode: the next llama_decode overwrites these logits.
        for (const Row & r : rows) {
            Job * j = r.job;
            if (j->over) continue;
            if (!j->generating) { startAnswer(j, r.row, done); continue; }
            j->pos++;
            j->res.decodedTokens++;
            j->res.nextPos = j->pos;
            llama_token tok;
            TokenProbs probs;
            try {
                tok = sample(j, r.row, probs);
            } catch (const std::exception & e) {
                j->res.fail(j->req.sampling.grammar.empty() ? Failure::Internal : Failure::User, std::string("sampling failed: ") + e.what());
                end(j);
                continue;
            }
            acceptToken(j, tok, probs, done);
        }
    }

    if (embdJob && !embdJob->over) {
        Job * j = embdJob;
        const PromptPiece & p = j->req.prompt[j->piece];
        std::shared_ptr<mtmd_context> enc = p.media->encoder.lock();
        if (!enc) {
            j->res.fail(Failure::Internal, "the encoder (mmproj) was released before its media were evaluated");
            end(j);
        } else {
            Encoding & e = *j->encodings[j->piece];
            EmbeddingSlice slice(p.media->chunk, mtmd_decode_use_mrope(enc.get()), j->pos, j->req.seq, e.embd.data(),
                                 llama_model_n_embd_inp(llama_get_model(ctx)), (int32_t) j->offset, embdCount);
            const bool nonCausal = mtmd_decode_use_non_causal(enc.get(), p.media->chunk);
            if (nonCausal) llama_set_causal_attn(ctx, false);
            llama_batch eb = slice.batch();
            int32_t rc = decode(eb, {j});
            if (nonCausal) llama_set_causal_attn(ctx, true);
            if (rc != 0) {
                if (rc == 2 && !stoppingNow()) j->res.reason = "aborted";
                else j->res.fail(Failure::Internal, rc == 2 ? "the context was disposed" : decodeError(rc));
                end(j);
            } else {
                j->offset += embdCount;
                j->res.promptTokens += embdCount;
                if (j->offset == p.cells()) {
                    // M-RoPE advances an image by its grid span, not by its embedding count.
                    j->pos += mtmd_input_chunk_get_n_pos(p.media->chunk);
                    j->res.encodeMs += j->encodings[j->piece]->ms;
                    j->res.encodeThreads = j->encodings[j->piece]->threads;
                    j->encodings[j->piece].reset();
                    j->piece++;
                    j->offset = 0;
                }
            }
        }
    }

    if (done.empty()) return;
    jobs.erase(std::remove_if(jobs.begin(), jobs.end(), [](Job * j) { return j->over; }), jobs.end());
    for (Job * j : done) finish(j);
}

void Scheduler::startAnswer(Job * job, int32_t row, std::vector<Job *> & done) {
    GenerationResult & res = job->res;
    res.promptComplete = true;
    res.nextPos = job->pos;
    auto end = [&]() { job->over = true; done.push_back(job); };
    if (job->req.maxTokens == 0) {
        llama_synchronize(ctx); // the timing covers the computation, not its launch
        res.promptMs = msSince(job->started);
        res.reason = "prompt";
        end();
        return;
    }
    llama_token tok;
    TokenProbs probs;
    try {
        tok = sample(job, row, probs);
    } catch (const std::exception & e) {
        res.fail(job->req.sampling.grammar.empty() ? Failure::Internal : Failure::User, std::string("sampling failed: ") + e.what());
        end();
        return;
    }
    res.ttftMs = res.promptMs = msSince(job->started);
    job->decodeStart = Clock::now();
    job->generating = true;
    acceptToken(job, tok, probs, done);
}

llama_token Scheduler::sample(Job * job, int32_t row, TokenProbs & probs) {
    // The row's own distribution first: the argmax path writes -inf into banned tokens' logits.
    const bool withProbs = job->req.logprobs >= 0;
    if (withProbs) probs = rowProbs(ctx, vocab, row, nVocab, job->req.logprobs);
    llama_token tok = sampleToken(ctx, job->sampler, job->argmax, nVocab, row, job->req.sampling.banned);
    if (withProbs) sampledProb(probs, ctx, vocab, row, tok);
    return tok;
}

void Scheduler::acceptToken(Job * job, llama_token tok, const TokenProbs & probs, std::vector<Job *> & done) {
    GenerationRequest & req = job->req;
    GenerationResult & res = job->res;
    auto end = [&](const char * reason) { res.reason = reason; job->over = true; done.push_back(job); };
    if (!req.ignoreEog && llama_vocab_is_eog(vocab, tok)) return end("eog");
    if (std::find(req.stopTokens.begin(), req.stopTokens.end(), tok) != req.stopTokens.end()) return end("stop");
    res.tokens.push_back(tok);
    job->produced->store((int32_t) res.tokens.size());
    if (job->cb.onToken) job->cb.onToken(tok, req.logprobs < 0 ? nullptr : &probs);
    if ((int32_t) res.tokens.size() >= req.maxTokens) return end("length");
    job->pending = tok;
}

void Scheduler::finish(Job * job) {
    if (!job->res.tokens.empty() && job->generating) job->res.decodeMs = msSince(job->decodeStart);
    {
        std::lock_guard<std::mutex> lock(mutex);
        counters.erase(job->id);
        if (count > 0) count--;
    }
    JobCallbacks cb = std::move(job->cb);
    GenerationResult r = std::move(job->res);
    delete job;
    cb.onDone(std::move(r));
}
