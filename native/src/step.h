// Pure helpers of one scheduler step: picking a token from a batch row's logits, placing a slice of
// media embeddings at their positions, and naming llama_decode's return codes.
#pragma once
#include <string>
#include <vector>
#include "llama.h"
#include "job.h"
#include "mtmd.h"

/**
 * The next token from the logits of batch row `idx`: argmax for plain greedy (never one of `banned`),
 * else the sampler chain (which bans them itself).
 */
llama_token sampleToken(llama_context * ctx, llama_sampler * smpl, bool argmax, int32_t nVocab, int32_t idx, const std::vector<llama_token> & banned);

/**
 * The distribution of batch row `idx` before the sampler chain (the softmax of the model's logits:
 * no bias, ban, penalty, grammar, temperature or truncation, as llama-server's default n_probs and
 * vLLM's raw logprobs) and its `top` most likely tokens; read before sampling, which may write -inf
 * into banned tokens' logits. `sampledProb` then adds the sampled token's log-probability.
 */
TokenProbs rowProbs(llama_context * ctx, const llama_vocab * vocab, int32_t idx, int32_t nVocab, int32_t top);
void sampledProb(TokenProbs & p, llama_context * ctx, const llama_vocab * vocab, int32_t idx, llama_token tok);

/** The message for a llama_decode return code. */
std::string decodeError(int32_t rc);

/**
 * Embeddings [offset, offset + count) of one media chunk as a llama_batch, at the positions the model
 * expects: M-RoPE models take four coordinates per embedding (an image's t, y, x grid, an audio
 * clip's running position), others one. The batch points into this object and `embd`.
 */
class EmbeddingSlice {
public:
    EmbeddingSlice(const mtmd_input_chunk * chunk, bool mrope, llama_pos start, llama_seq_id seq,
                   const float * embd, int32_t nEmbd, int32_t offset, int32_t count);
    llama_batch batch() { return batch_; }

private:
    std::vector<llama_pos> pos;
    std::vector<int32_t> nSeq;
    std::vector<llama_seq_id> seqIds;
    std::vector<llama_seq_id *> seqPtrs;
    std::vector<int8_t> logits;
    llama_batch batch_{};
};
