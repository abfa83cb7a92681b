// One generation job as the scheduler sees it: what to evaluate and generate, and what came of it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "llama.h"
#include "prompt-piece.h"
#include "sampling.h"

/** A generated token's log-probability in the model's distribution at its position, and the most likely alternatives. */
struct TokenProbs {
    double logZ = 0;                  // log of the row's softmax denominator
    float logprob = 0;
    std::string piece;                // the token's bytes as the answer's text has them (special tokens empty)
    std::vector<llama_token> top;     // most likely first
    std::vector<float> topLogprobs;
    std::vector<std::string> topPieces;
};

struct GenerationRequest {
    int32_t seq = 0;
    int32_t copyFrom = -1;             // >= 0: the sequence starts as a copy of this one's cells (n choices share one prompt)
    int32_t startPos = 0;              // positions < startPos of the sequence are reused; the rest is dropped
    std::vector<PromptPiece> prompt;   // evaluated from startPos, in order
    int32_t maxTokens = 0;             // 0: evaluate the prompt only
    bool ignoreEog = false;            // never end on an end-of-generation or stop token: they are banned (benchmarks, ignore_eos)
    std::vector<llama_token> stopTokens; // end the answer like end-of-generation tokens do
    SamplingOptions sampling;
    int32_t logprobs = -1;             // -1: none; 0..20: each kept token's logprob and this many alternatives
};

/** Whose fault a failed job is: the request's (an unsatisfiable grammar) or autoglm's / llama.cpp's. */
enum class Failure { None, User, Internal };

struct GenerationResult {
    std::vector<llama_token> tokens;
    std::string reason = "length"; // eog | stop | length | aborted | prompt
    Failure failure = Failure::None;
    std::string error;
    double promptMs = 0, decodeMs = 0, ttftMs = 0;
    double encodeMs = 0;           // the encoder's forward passes for the prompt's media (on its own thread)
    int32_t decodedTokens = 0;     // generated tokens evaluated into the KV cache (all but the last sampled)
    bool promptComplete = false;   // false: the KV cache holds part of the prompt at most
    int32_t nextPos = 0;           // position after what the KV cache holds for this job
    int32_t promptTokens = 0;      // prompt cells evaluated (text tokens and media embeddings)
    int32_t promptSteps = 0;       // scheduler steps that carried part of this prompt
    int32_t sharedSteps = 0;       // of those, steps that also decoded other jobs' tokens
    int32_t minThreads = 0, maxThreads = 0; // the thread budget's grants to the steps this job was in (0: none ran)
    int32_t encodeThreads = 0;     // threads of the last encoder pass for its media (0: none)

    void fail(Failure kind, std::string message) { failure = kind; error = std::move(message); }
};
