#include "media-encoder.h"
#include <chrono>
#include <cstring>
#include "mtmd-threads.h"

std::shared_ptr<Encoding> MediaEncoder::encode(std::shared_ptr<MediaChunk> media) {
    auto e = std::make_shared<Encoding>();
    e->media = std::move(media);
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping) {
            e->error = "the context was disposed";
            e->state = Encoding::Failed;
            return e;
        }
        queue.push_back(e);
        if (!thread.joinable()) thread = std::thread([this]() { loop(); });
    }
    wake.notify_one();
    return e;
}

void MediaEncoder::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex);
        stopping = true;
    }
    cancelWait = true;
    wake.notify_one();
    if (thread.joinable()) thread.join();
}

void MediaEncoder::loop() {
    for (;;) {
        std::shared_ptr<Encoding> e;
        {
            std::unique_lock<std::mutex> lock(mutex);
            wake.wait(lock, [&]() { return stopping || !queue.empty(); });
            if (stopping) return;
            e = queue.front();
            queue.pop_front();
        }
        if (!e->dropped) run(*e);
        else { e->error = "dropped"; e->state = Encoding::Failed; }
        onDone();
    }
}

void MediaEncoder::run(Encoding & e) {
    try {
        std::shared_ptr<mtmd_context> encoder = e.media->encoder.lock();
        if (!encoder) throw std::runtime_error("the encoder (mmproj) was released before its media were evaluated");
        e.threads = share.ask(e.media->maxThreads, &cancelWait);
        if (cancelWait) throw std::runtime_error("the context was disposed");
        setMtmdThreads(encoder.get(), e.threads);
        auto t0 = std::chrono::steady_clock::now();
        const int32_t rc = mtmd_encode_chunk(encoder.get(), e.media->chunk);
        e.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        share.idle();
        if (rc != 0) throw std::runtime_error("the encoder failed on this image or audio clip");
        const size_t n = mtmd_input_chunk_get_n_tokens(e.media->chunk);
        const float * out = mtmd_get_output_embd(encoder.get());
        if (out == nullptr) throw std::runtime_error("the encoder produced no embeddings");
        // The encoder's output buffer is reused by its next encoding: keep a copy for the decode steps.
        e.embd.resize(n * (size_t) nEmbd);
        std::memcpy(e.embd.data(), out, e.embd.size() * sizeof(float));
        e.state = Encoding::Ready;
    } catch (const std::exception & ex) {
        share.idle();
        e.error = ex.what();
        e.state = Encoding::Failed;
    }
}
