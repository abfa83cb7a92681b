// The generation loop on the context's own thread: evaluate the prompt in batches, then
// sample -> decode until end of generation, the token limit or an abort, streaming each token.
#pragma once
#include <napi.h>
#include <string>
#include <vector>
#include "llama.h"
#include "sampling.h"
#include "media-chunk.h"

class NativeContext;

struct GenerationRequest {
    int32_t seq = 0;
    int32_t startPos = 0;
    std::vector<PromptPiece> prompt; // text tokens and media chunks, evaluated in order
    int32_t maxTokens = 0; // 0: evaluate the prompt only
    bool ignoreEog = false; // benchmarks decode a fixed count
    std::vector<llama_token> stopTokens; // extra tokens that end generation like end-of-generation ones
    SamplingOptions sampling;
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

/** Evaluates text and media pieces into `seq` from `pos` (advanced past them); logits for the last token. */
bool evaluatePrompt(llama_context * ctx, uint32_t nBatch, int32_t seq, const std::vector<PromptPiece> & pieces, int32_t & pos, int32_t & evaluated, std::string & error);

/**
 * Takes a sampled token: records it and streams it (when `stream` is given) unless it ends the
 * generation. False when the generation is over (end of generation, a stop token, the token limit),
 * with res.reason set.
 */
bool acceptToken(const llama_vocab * vocab, const GenerationRequest & req, GenerationResult & res, llama_token tok, Napi::ThreadSafeFunction * stream);

/** The next token from the logits of batch row `idx`: argmax for plain greedy, else the sampler chain. */
llama_token sampleToken(llama_context * ctx, llama_sampler * smpl, bool argmax, int32_t nVocab, int32_t idx);

/** Decodes `tokens` at positions start.. into `seq`, `nBatch` at a time; logits for the last one only. */
bool decodeTokens(llama_context * ctx, uint32_t nBatch, int32_t seq, const std::vector<llama_token> & tokens, int32_t start, std::string & error);

/** The JS object for a finished job. */
Napi::Object generationResultObject(Napi::Env env, const GenerationResult & r);

/** The message for a llama_decode return code. */
std::string decodeError(int32_t rc);

/** Starts the job on the context's worker thread; returns a Promise of the result object. */
Napi::Value startGeneration(Napi::Env env, NativeContext * owner, GenerationRequest req, Napi::Function onToken);
