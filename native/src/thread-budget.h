// The process's thread budget as the native threads share it. src/core/threads.ts owns the budget
// (--threads, or one per core, less what JS worker pools hold) and sets its total here; every native
// consumer asks before it computes: a context's decode loop before each step (llama_set_n_threads
// takes a new count per decode), an encoder before each forward pass (libmtmd reads its count per
// encode call). One budget for the whole process: the chat model's context, the speech model's, their
// encoders, and the addon in every worker thread share the same cores.
//
// The split: an encoder pass takes its fair share (the total divided by the consumers working now;
// all of it when nothing else works) and keeps it for the pass; it starts once every working decode
// loop has asked again since (at most one step), so the two never overlap. Decode loops share what
// the working encoders hold, evenly, and ask again every step, so a stream gets every core back as
// soon as the encoder is done. Nobody gets fewer than one thread, so only more consumers than
// threads can oversubscribe (and two decode loops for the one step in which the second joins).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>

class ThreadBudget {
public:
    enum class Kind { Decode, Encode };

    /** The process's budget. */
    static ThreadBudget & process();

    void setTotal(int32_t n);
    int32_t total();
    /** The most threads in use at once since the last call (tests check it stays within the total). */
    int32_t takePeak();

    class Consumer {
    public:
        explicit Consumer(Kind kind, ThreadBudget & budget = ThreadBudget::process());
        ~Consumer();
        Consumer(const Consumer &) = delete;
        Consumer & operator=(const Consumer &) = delete;
        /**
         * Threads for the work about to run, 1..wanted; the consumer counts as working until idle().
         * An encoder waits here until the decode loops have made room; `cancel` ends the wait early.
         */
        int32_t ask(int32_t wanted, const std::atomic<bool> * cancel = nullptr);
        /** Not working (a decode loop with nothing to run, an encoder between passes): its threads go back. */
        void idle();

    private:
        ThreadBudget & budget;
        std::list<struct BudgetShare>::iterator share;
    };

private:
    std::mutex mutex;
    std::condition_variable changed;
    int32_t totalThreads = 1;
    int32_t peak = 0;
    uint64_t epoch = 0;
    std::list<struct BudgetShare> shares;
    void notePeak();
};

struct BudgetShare {
    ThreadBudget::Kind kind;
    bool working = false;
    bool inEffect = false; // computing with `held` threads (an encoder is not until it stops waiting)
    int32_t held = 0;
    uint64_t asked = 0;    // the epoch of its last ask
};
