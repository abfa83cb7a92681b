// Encodes media chunks (the vision or audio encoder's forward pass) on a thread of its own, so the
// scheduler keeps decoding other streams while a screenshot is encoded; it then decodes the
// embeddings n_batch at a time like any prompt. One thread serialises every use of an mtmd_context.
// Each pass asks the process's thread budget how many threads it may use (thread-budget.h).
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include "prompt-piece.h"
#include "thread-budget.h"

struct Encoding {
    enum State { Pending, Ready, Failed };
    std::atomic<int> state{Pending};
    std::vector<float> embd;  // n_tokens x n_embd, once Ready
    std::string error;        // once Failed
    double ms = 0;            // the encoder's forward pass, once Ready
    int32_t threads = 0;      // threads the pass ran with, once Ready
    std::shared_ptr<MediaChunk> media;
    std::atomic<bool> dropped{false}; // the job left: skip the work if not started
};

class MediaEncoder {
public:
    /** `onDone` runs on the encoder thread after each encoding settles (the scheduler's wake-up). */
    MediaEncoder(int32_t nEmbd, std::function<void()> onDone) : nEmbd(nEmbd), onDone(std::move(onDone)) {}
    ~MediaEncoder() { stop(); }
    std::shared_ptr<Encoding> encode(std::shared_ptr<MediaChunk> media);
    void stop();

private:
    int32_t nEmbd;
    std::function<void()> onDone;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::shared_ptr<Encoding>> queue;
    std::thread thread;
    bool stopping = false;
    std::atomic<bool> cancelWait{false};  // stop() ends a wait for threads
    ThreadBudget::Consumer share{ThreadBudget::Kind::Encode};
    void loop();
    void run(Encoding & e);
};
