#include "step.h"
#include <algorithm>
#include <cmath>
#include <numeric>
#include "mtmd-helper.h"

llama_token sampleToken(llama_context * ctx, llama_sampler * smpl, bool argmax, int32_t nVocab, int32_t idx, const std::vector<llama_token> & banned) {
    if (!argmax) return llama_sampler_sample(smpl, ctx, idx); // waits for the logits; also accepts the token
    // Plain greedy needs no candidate list: an argmax over the logits (ties to the lowest id, as
    // llama.cpp's greedy sampler) saves building a vocabulary-sized array for every token. Banned
    // tokens get the -inf bias in place (the next decode overwrites these logits anyway).
    float * logits = llama_get_logits_ith(ctx, idx);
    for (llama_token t : banned) logits[t] = -INFINITY;
    llama_token tok = 0;
    for (int32_t i = 1; i < nVocab; i++) if (logits[i] > logits[tok]) tok = i;
    return tok;
}

namespace {
// The token's text as the detokenizer renders it (special tokens as empty, like the answer's text).
std::string piece(const llama_vocab * vocab, llama_token tok) {
    char buf[256];
    int32_t n = llama_token_to_piece(vocab, tok, buf, sizeof buf, 0, false);
    if (n >= 0) return std::string(buf, (size_t) n);
    std::string text((size_t) -n, '\0');
    n = llama_token_to_piece(vocab, tok, text.data(), (int32_t) text.size(), 0, false);
    return n < 0 ? std::string() : text;
}
} // namespace

TokenProbs rowProbs(llama_context * ctx, const llama_vocab * vocab, int32_t idx, int32_t nVocab, int32_t top) {
    const float * logits = llama_get_logits_ith(ctx, idx);
    float max = logits[0];
    for (int32_t i = 1; i < nVocab; i++) max = std::max(max, logits[i]);
    double sum = 0;
    for (int32_t i = 0; i < nVocab; i++) sum += std::exp((double) logits[i] - max);
    TokenProbs p;
    p.logZ = max + std::log(sum);
    const int32_t n = std::min(top, nVocab);
    if (n <= 0) return p;
    std::vector<llama_token> ids((size_t) nVocab);
    std::iota(ids.begin(), ids.end(), 0);
    // Ties go to the lower id, as the greedy sampler breaks them.
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](llama_token a, llama_token b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    for (int32_t i = 0; i < n; i++) {
        p.top.push_back(ids[i]);
        p.topLogprobs.push_back((float) (logits[ids[i]] - p.logZ));
        p.topPieces.push_back(piece(vocab, ids[i]));
    }
    return p;
}

void sampledProb(TokenProbs & p, llama_context * ctx, const llama_vocab * vocab, int32_t idx, llama_token tok) {
    // A sampled token is never a banned one: its logit is still the model's.
    p.logprob = (float) (llama_get_logits_ith(ctx, idx)[tok] - p.logZ);
    p.piece = piece(vocab, tok);
}

std::string decodeError(int32_t rc) {
    if (rc == 1) return "the KV cache has no room left for this batch";
    if (rc == 2) return "the evaluation was aborted";
    return "llama_decode failed (" + std::to_string(rc) + ")";
}

EmbeddingSlice::EmbeddingSlice(const mtmd_input_chunk * chunk, bool mrope, llama_pos start, llama_seq_id seq,
                               const float * embd, int32_t nEmbd, int32_t offset, int32_t count)
    : nSeq(count, 1), seqIds(1, seq), seqPtrs(count, nullptr), logits(count, 0) {
    for (auto & p : seqPtrs) p = seqIds.data();
    if (!mrope) {
        pos.resize(count);
        for (int32_t i = 0; i < count; i++) pos[i] = start + offset + i;
    } else {
        // Four planes of `count` entries each: t, y, x, z (llama.cpp's M-RoPE batch layout).
        pos.resize((size_t) count * 4);
        const mtmd_image_tokens * image = mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_IMAGE ? mtmd_input_chunk_get_tokens_image(chunk) : nullptr;
        for (int32_t i = 0; i < count; i++) {
            if (image) {
                mtmd_decoder_pos p = mtmd_image_tokens_get_decoder_pos(image, start, (size_t) (offset + i));
                pos[i] = p.t; pos[count + i] = p.y; pos[2 * count + i] = p.x; pos[3 * count + i] = p.z;
            } else {
                for (int d = 0; d < 4; d++) pos[d * count + i] = start + offset + i;
            }
        }
    }
    batch_.n_tokens = count;
    batch_.token = nullptr;
    batch_.embd = const_cast<float *>(embd) + (size_t) offset * nEmbd;
    batch_.pos = pos.data();
    batch_.n_seq_id = nSeq.data();
    batch_.seq_id = seqPtrs.data();
    batch_.logits = logits.data();
}
