// A llama.cpp sampler chain from a job's sampling options (read from JS by contract.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "llama.h"

struct SamplingOptions {
    float temperature = 0.0f; // <= 0: greedy
    int32_t topK = 0;         // 0: off
    float topP = 1.0f;        // 1: off
    float minP = 0.0f;        // 0: off
    float repeatPenalty = 1.0f;
    float frequencyPenalty = 0.0f;
    float presencePenalty = 0.0f;
    int32_t penaltyLastN = 64;
    uint32_t seed = LLAMA_DEFAULT_SEED;
    std::string grammar;      // GBNF; empty: none
    std::vector<llama_logit_bias> logitBias; // added to the logits first (-INFINITY bans a token)
    // The prompt's text tokens, cached prefix included: the penalties see them before the first
    // sample, as llama.cpp's completion and server accept every prompt token into their sampler.
    std::vector<llama_token> history;
    // Tokens that must not be sampled (-inf logit bias, as llama-server's ignore_eos sets on every
    // end-of-generation token). Set by the scheduler, not read from JS.
    std::vector<llama_token> banned;
};

/** The chain, or nullptr with `error` set (an invalid grammar, for one). */
llama_sampler * buildSampler(const llama_vocab * vocab, const SamplingOptions & s, std::string & error);

/** Temperature <= 0 with no penalties and no grammar: the next token is the argmax of the logits. */
bool isPlainGreedy(const SamplingOptions & s);
