#include "thread-budget.h"
#include <algorithm>
#include <chrono>
#include <thread>

ThreadBudget & ThreadBudget::process() {
    // Never destroyed: consumers on other threads may still release their shares during exit.
    static ThreadBudget * budget = [] {
        auto * b = new ThreadBudget();
        b->totalThreads = (int32_t) std::max(1u, std::thread::hardware_concurrency());
        return b;
    }();
    return *budget;
}

void ThreadBudget::setTotal(int32_t n) {
    std::lock_guard<std::mutex> lock(mutex);
    totalThreads = std::max<int32_t>(1, n);
}

int32_t ThreadBudget::total() {
    std::lock_guard<std::mutex> lock(mutex);
    return totalThreads;
}

int32_t ThreadBudget::takePeak() {
    std::lock_guard<std::mutex> lock(mutex);
    int32_t p = peak;
    peak = 0;
    return p;
}

void ThreadBudget::notePeak() {
    int32_t sum = 0;
    for (const BudgetShare & s : shares) sum += s.inEffect ? s.held : 0;
    peak = std::max(peak, sum);
}

ThreadBudget::Consumer::Consumer(Kind kind, ThreadBudget & budget) : budget(budget) {
    std::lock_guard<std::mutex> lock(budget.mutex);
    share = budget.shares.insert(budget.shares.end(), BudgetShare{kind});
}

ThreadBudget::Consumer::~Consumer() {
    {
        std::lock_guard<std::mutex> lock(budget.mutex);
        budget.shares.erase(share);
    }
    budget.changed.notify_all();
}

namespace {
/** An encoder pass's share: the total over the consumers working now, less what other encoders hold, and what decode loops computing now hold. */
int32_t encoderShare(const std::list<BudgetShare> & shares, const BudgetShare & self, int32_t total, bool countDecoders) {
    int32_t working = 0, others = 0;
    for (const BudgetShare & s : shares) {
        if (!s.working) continue;
        working++;
        if (&s == &self) continue;
        if (s.kind == ThreadBudget::Kind::Encode || (countDecoders && s.inEffect)) others += s.held;
    }
    return std::min(total / std::max<int32_t>(1, working), total - others);
}
} // namespace

int32_t ThreadBudget::Consumer::ask(int32_t wanted, const std::atomic<bool> * cancel) {
    std::unique_lock<std::mutex> lock(budget.mutex);
    const uint64_t epoch = ++budget.epoch;
    const int32_t total = budget.totalThreads;
    auto clamp = [&](int32_t grant) { return std::max<int32_t>(1, std::min(grant, std::max<int32_t>(1, wanted))); };
    share->working = true;
    share->asked = epoch;
    if (share->kind == Kind::Encode) {
        // Reserve a fair share (the decode loops leave it free from their next ask), wait until every
        // working decode loop has asked since or gone idle, then take what is free for the pass.
        share->held = clamp(encoderShare(budget.shares, *share, total, false));
        auto roomMade = [&]() {
            for (const BudgetShare & s : budget.shares)
                if (s.working && s.kind == Kind::Decode && s.inEffect && s.asked < epoch) return false;
            return true;
        };
        while (!roomMade() && !(cancel && cancel->load())) budget.changed.wait_for(lock, std::chrono::milliseconds(20));
        share->held = clamp(encoderShare(budget.shares, *share, total, true));
    } else {
        int32_t encoders = 0, decoders = 0;
        for (const BudgetShare & s : budget.shares) {
            if (!s.working) continue;
            if (s.kind == Kind::Encode) encoders += s.held;
            else decoders++;
        }
        share->held = clamp((total - encoders) / std::max<int32_t>(1, decoders));
    }
    share->inEffect = true;
    budget.notePeak();
    lock.unlock();
    budget.changed.notify_all();
    return share->held;
}

void ThreadBudget::Consumer::idle() {
    {
        std::lock_guard<std::mutex> lock(budget.mutex);
        share->working = false;
        share->inEffect = false;
        share->held = 0;
    }
    budget.changed.notify_all();
}
