// Reaches the llama_model* inside node-llama-cpp's model object, so one copy of the weights serves
// both node-llama-cpp (loading, tokenizer, metadata) and this addon (evaluation, generation).
// Ties the addon to the exact node-llama-cpp version whose addon headers it is built against.
#pragma once
#include <napi.h>
#include "llama.h"

llama_model * unwrapNodeLlamaCppModel(const Napi::Value & addonModel);
