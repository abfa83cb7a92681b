// Continuous batching for a context with several sequences (the server's slots): jobs join and
// leave between steps; each step decodes one token of every running job in a single llama_decode,
// so N streams cost about one forward pass per token instead of N. A new job's prompt is
// evaluated when it joins, between two steps.
#pragma once
#include <napi.h>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>
#include "generation.h"

class NativeContext;
struct BatchJob;

class BatchScheduler {
public:
    explicit BatchScheduler(NativeContext * owner) : owner(owner) {}
    ~BatchScheduler() { stop(); }
    /** Queues a job; returns { id, done: Promise<result> }. */
    Napi::Value submit(Napi::Env env, GenerationRequest req, Napi::Function onToken);
    /** Stops a job at the next step (its result says "aborted"); unknown ids are ignored. */
    void cancel(int64_t id);
    /** Jobs queued or running. */
    size_t load();
    /** Ends the thread; queued and running jobs end with an error. Call on the JS thread. */
    void stop();

private:
    NativeContext * owner;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<BatchJob *> incoming;
    std::vector<BatchJob *> running; // touched by the scheduler thread only
    std::vector<int64_t> cancelled;
    std::thread thread;
    bool stopping = false;
    bool referenced = false;
    int64_t nextId = 1;
    size_t count = 0; // queued + running, under mutex
    void loop();
    bool admit(BatchJob * job);
    void step();
    void finish(BatchJob * job);
};
