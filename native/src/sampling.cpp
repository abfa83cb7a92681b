#include "sampling.h"
#include <cmath>

llama_sampler * buildSampler(const llama_vocab * vocab, const SamplingOptions & s, std::string & error) {
    llama_sampler_chain_params params = llama_sampler_chain_default_params();
    params.no_perf = true;
    llama_sampler * chain = llama_sampler_chain_init(params);
    if (!s.banned.empty() || !s.logitBias.empty()) {
        // First, as llama.cpp's common sampler applies its logit biases before the rest of the chain:
        // the request's biases, and -inf for the banned tokens (ignoreEog).
        std::vector<llama_logit_bias> bias = s.logitBias;
        for (llama_token t : s.banned) bias.push_back({t, -INFINITY});
        llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(llama_vocab_n_tokens(vocab), (int32_t) bias.size(), bias.data()));
    }
    if (!s.grammar.empty()) {
        llama_sampler * grammar = llama_sampler_init_grammar(vocab, s.grammar.c_str(), "root");
        if (grammar == nullptr) {
            llama_sampler_free(chain);
            error = "invalid grammar: llama.cpp could not parse it as GBNF with a root rule";
            return nullptr;
        }
        llama_sampler_chain_add(chain, grammar);
    }
    if (s.repeatPenalty != 1.0f || s.frequencyPenalty != 0.0f || s.presencePenalty != 0.0f) {
        llama_sampler * penalties = llama_sampler_init_penalties(llama_vocab_n_tokens(vocab), s.penaltyLastN, s.repeatPenalty, s.frequencyPenalty, s.presencePenalty);
        // Only the last penaltyLastN tokens count (the sampler keeps a ring of that size).
        size_t from = s.penaltyLastN >= 0 && s.history.size() > (size_t) s.penaltyLastN ? s.history.size() - s.penaltyLastN : 0;
        for (size_t i = from; i < s.history.size(); i++) llama_sampler_accept(penalties, s.history[i]);
        llama_sampler_chain_add(chain, penalties);
    }
    if (s.temperature <= 0.0f) {
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
        return chain;
    }
    if (s.topK > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(s.topK));
    if (s.topP < 1.0f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(s.topP, 1));
    if (s.minP > 0.0f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(s.minP, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp(s.temperature));
    llama_sampler_chain_add(chain, llama_sampler_init_dist(s.seed));
    return chain;
}

bool isPlainGreedy(const SamplingOptions & s) {
    return s.temperature <= 0.0f && s.grammar.empty() && s.logitBias.empty() && s.repeatPenalty == 1.0f && s.frequencyPenalty == 0.0f && s.presencePenalty == 0.0f;
}
