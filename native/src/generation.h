// The generation loop on the context's own thread: evaluate the prompt in batches, then
// sample -> decode until end of generation, the token limit or an abort, streaming each token.
#pragma once
#include <napi.h>
#include <string>
#include <vector>
#include "llama.h"
#include "sampling.h"
#include "mtmd.h"

class NativeContext;

struct GenerationRequest {
    int32_t seq = 0;
    int32_t startPos = 0;
    std::vector<llama_token> prompt;
    int32_t maxTokens = 0; // 0: evaluate the prompt only
    bool ignoreEog = false; // benchmarks decode a fixed count
    std::vector<llama_token> stopTokens; // extra tokens that end generation like end-of-generation ones
    SamplingOptions sampling;
    // Multimodal prompt: text with one media marker per bitmap, evaluated by libmtmd instead of `prompt`.
    mtmd_context * media = nullptr;
    std::string mediaText;
    std::vector<mtmd_bitmap *> bitmaps; // owned by the request
    ~GenerationRequest() { for (auto * b : bitmaps) mtmd_bitmap_free(b); }
    GenerationRequest() = default;
    GenerationRequest(GenerationRequest && o) noexcept { *this = std::move(o); }
    GenerationRequest & operator=(GenerationRequest && o) noexcept {
        seq = o.seq; startPos = o.startPos; prompt = std::move(o.prompt); maxTokens = o.maxTokens; ignoreEog = o.ignoreEog;
        stopTokens = std::move(o.stopTokens); sampling = std::move(o.sampling); media = o.media; mediaText = std::move(o.mediaText);
        bitmaps = std::move(o.bitmaps); o.bitmaps.clear();
        return *this;
    }
};

struct GenerationResult {
    std::vector<llama_token> tokens;
    std::string reason = "length"; // eog | stop | length | aborted | prompt
    std::string error;
    double promptMs = 0, decodeMs = 0, ttftMs = 0;
    int32_t decodedTokens = 0; // generated tokens that were evaluated into the KV cache
    bool promptComplete = true; // false: an abort or error stopped the prompt midway (cache state partial)
    int32_t nextPos = 0; // position after the prompt (media chunks advance it by their M-RoPE span)
    int32_t promptTokens = 0; // tokens (text and media embeddings) the prompt evaluated
};

/** The message for a llama_decode return code. */
std::string decodeError(int32_t rc);

/** Starts the job on the context's worker thread; returns a Promise of the result object. */
Napi::Value startGeneration(Napi::Env env, NativeContext * owner, GenerationRequest req, Napi::Function onToken);
