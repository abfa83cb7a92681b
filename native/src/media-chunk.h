// Prompts with images or audio: libmtmd tokenizes text with media markers into text tokens and
// media chunks. Each media chunk is handed to JS as its own handle, so a session can keep a chunk
// it has already evaluated (matched by its content id) and send only the new ones.
#pragma once
#include <napi.h>
#include <memory>
#include <string>
#include <vector>
#include "llama.h"
#include "mtmd.h"
#include "prompt-piece.h"

/**
 * tokenize(text, items) for NativeMedia: [{type:"text", tokens} | {type:"image"|"audio", id, tokens, positions, chunk}].
 * `maxThreads` is the encoder's thread count, the most each chunk's encoder pass asks the budget for.
 */
Napi::Value tokenizeMediaPrompt(Napi::Env env, const std::shared_ptr<mtmd_context> & encoder, int32_t maxThreads, const std::string & text,
                                const Napi::Array & items);

/** A generate() piece from JS: an Int32Array of tokens or a media chunk handle. */
PromptPiece promptPieceOf(Napi::Env env, const Napi::Value & v);
