// NativeMedia: libmtmd's context for one mmproj file (vision and/or audio encoder) over a model
// node-llama-cpp loaded. Loaded when first needed and released when dropped, so text-only use
// pays nothing for the encoders.
#pragma once
#include <napi.h>
#include <memory>
#include "mtmd.h"

/** Routes libmtmd's log through autoglm's filter; once, at load. */
void installMediaLog();
/** setMediaLogWarnings(on): libmtmd's warnings and errors on stderr or not (process-wide). */
Napi::Value SetMediaLogWarnings(const Napi::CallbackInfo & info);

class NativeMedia : public Napi::ObjectWrap<NativeMedia> {
public:
    static Napi::Function Define(Napi::Env env);
    explicit NativeMedia(const Napi::CallbackInfo & info);
    ~NativeMedia() override;
    // Shared with the media chunks tokenized from it, which may be evaluated on the context's thread.
    std::shared_ptr<mtmd_context> mctx;

private:
    Napi::Reference<Napi::Value> modelRef;
    int32_t threads = 1; // the most threads an encoder pass asks the budget for
    void requireLoaded(Napi::Env env);
    Napi::Value Info(const Napi::CallbackInfo & info);
    Napi::Value Tokenize(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
};
