// NativeMedia: libmtmd's context for one mmproj file (vision and/or audio encoder) over a model
// node-llama-cpp loaded. Loaded when first needed and released when dropped, so text-only use
// pays nothing for the encoders.
#pragma once
#include <napi.h>
#include <memory>
#include "mtmd.h"

class NativeMedia : public Napi::ObjectWrap<NativeMedia> {
public:
    static Napi::Function Define(Napi::Env env);
    explicit NativeMedia(const Napi::CallbackInfo & info);
    ~NativeMedia() override;
    // Shared with the media chunks tokenized from it, which may be evaluated on the context's thread.
    std::shared_ptr<mtmd_context> mctx;

private:
    Napi::Reference<Napi::Value> modelRef;
    Napi::Value Info(const Napi::CallbackInfo & info);
    Napi::Value Tokenize(const Napi::CallbackInfo & info);
    Napi::Value TokenizeParts(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
};
