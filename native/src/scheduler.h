// The one decode loop. Every generation (a chat turn, a server slot's request, a benchmark run) is a
// job on one sequence; each step is one llama_decode carrying the sampled token of every running
// job plus at most one n_batch of pending prompt (text tokens), and at most one n_batch slice of a
// prompt's media embeddings after it. So a joining screenshot never stalls running streams for its
// whole prefill, a single sequence is a batch of one, and a cancel takes effect at the next step
// (or inside the current one, through the abort callback, when every job in it is cancelled).
// Plain C++ with callbacks: native-context.cpp is its N-API facade.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
#include "cpu-threadpool.h"
#include "job.h"
#include "media-encoder.h"
#include "thread-budget.h"

struct JobCallbacks {
    std::function<void(llama_token, const TokenProbs *)> onToken; // scheduler thread, for each kept token (probs when asked)
    std::function<void(GenerationResult &&)> onDone; // scheduler thread, exactly once
};

struct Job;

class Scheduler {
public:
    Scheduler(llama_context * ctx, uint32_t nBatch, CpuThreadpool & threadpool);
    ~Scheduler();
    /** Queues a job; returns its id. Thread-safe. */
    int64_t submit(GenerationRequest req, JobCallbacks cb);
    /** Ends a job at the next step (result "aborted"); unknown ids are ignored. Thread-safe. */
    void cancel(int64_t id);
    /** Tokens the job has sampled so far (0 once it is over or unknown). */
    int32_t produced(int64_t id);
    /** Jobs queued or running. */
    size_t load();
    /** Ends the thread; queued and running jobs fail ("the context was disposed"). */
    void stop();
    /** For llama.cpp's abort callback: stop the graph being computed. */
    bool shouldAbort() const { return abortNow.load(); }

private:
    using Clock = std::chrono::steady_clock;
    llama_context * ctx;
    const llama_vocab * vocab;
    uint32_t nBatch;
    int32_t nVocab;
    std::vector<llama_token> endOfGeneration; // llama_vocab_is_eog's set, banned for ignoreEog jobs
    CpuThreadpool & threadpool;
    const int32_t maxThreads, maxThreadsBatch; // the context's counts: the most a step asks the budget for
    ThreadBudget::Consumer share{ThreadBudget::Kind::Decode};
    MediaEncoder encoder;
    bool injectDecodeFault; // AUTOGLM_TEST_FAULT=decode: tests make every decode fail as an internal error

    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Job *> incoming;
    std::set<int64_t> cancelled;
    std::set<int64_t> inFlight;               // jobs in the llama_decode being computed
    std::map<int64_t, std::shared_ptr<std::atomic<int32_t>>> counters;
    std::thread thread;
    bool stopping = false;
    std::atomic<bool> abortNow{false};
    int64_t nextId = 1;
    size_t count = 0;                         // queued + running, under mutex

    std::vector<Job *> jobs;                  // admitted, in admission order (scheduler thread only)
    llama_batch tokens{};                     // the step's token batch, n_batch rows

    void loop();
    bool runnable() const;
    int32_t takeThreads();
    bool stoppingNow();
    bool admit(Job * job);
    void step();
    int32_t decode(llama_batch & batch, const std::vector<Job *> & members);
    /** The next token from batch row `row`, and its probabilities when the job asks for them. */
    llama_token sample(Job * job, int32_t row, TokenProbs & probs);
    void acceptToken(Job * job, llama_token tok, const TokenProbs & probs, std::vector<Job *> & done);
    void startAnswer(Job * job, int32_t row, std::vector<Job *> & done);
    void finish(Job * job);
};
