// NativeMedia: libmtmd's context for one mmproj file (vision and/or audio encoder) over a model
// node-llama-cpp loaded. Loaded when first needed and released when dropped, so text-only use
// pays nothing for the encoders.
#pragma once
#include <napi.h>
#include "mtmd.h"

class NativeMedia : public Napi::ObjectWrap<NativeMedia> {
public:
    static Napi::Function Define(Napi::Env env);
    explicit NativeMedia(const Napi::CallbackInfo & info);
    ~NativeMedia() override;
    mtmd_context * mctx = nullptr;

private:
    Napi::Reference<Napi::Value> modelRef;
    Napi::Value Info(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
};
