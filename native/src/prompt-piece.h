// What a prompt is made of: runs of text tokens and media chunks (an image or an audio clip that
// libmtmd tokenized), evaluated in order. Plain C++: the scheduler reads these, the N-API facade makes them.
#pragma once
#include <memory>
#include <vector>
#include "llama.h"
#include "mtmd.h"

struct MediaChunk {
    std::weak_ptr<mtmd_context> encoder; // encoding needs the encoder; a released one is an error, not a crash
    mtmd_input_chunk * chunk = nullptr;
    int32_t maxThreads = 1;              // the encoder's thread count (NativeMedia's threads option): the most a pass asks for
    ~MediaChunk() { if (chunk) mtmd_input_chunk_free(chunk); }
};

struct PromptPiece {
    std::vector<llama_token> tokens;
    std::shared_ptr<MediaChunk> media;
    /** KV cells the piece takes: one per text token or embedding. */
    size_t cells() const { return media ? mtmd_input_chunk_get_n_tokens(media->chunk) : tokens.size(); }
};
