#include "native-media.h"
#include <atomic>
#include <cstdio>
#include "contract.h"
#include "media-chunk.h"
#include "model-handle.h"
#include "mtmd-helper.h"

namespace {
// libmtmd's own logger (not llama_log_set, which stays node-llama-cpp's): progress lines are
// dropped; warnings and errors go to stderr unless setMediaLogWarnings(false) keeps them out.
// Process-wide, as libmtmd's logger is: read on the encoder threads, set from JS.
std::atomic<bool> mediaLogWarnings{true};

void mediaLog(ggml_log_level level, const char * text, void *) {
    if (mediaLogWarnings.load() && (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR)) fputs(text, stderr);
}
} // namespace

void installMediaLog() { mtmd_helper_log_set(mediaLog, nullptr); }

// setMediaLogWarnings(on: boolean): whether libmtmd's warnings and errors reach stderr, for every
// encoder in the process. An explicit call (src/engine/library-log.ts makes it), not an option of
// one encoder, because the setting is process-wide.
Napi::Value SetMediaLogWarnings(const Napi::CallbackInfo & info) {
    mediaLogWarnings.store(contract::boolean(info.Env(), info[0], "on"));
    return info.Env().Undefined();
}

Napi::Function NativeMedia::Define(Napi::Env env) {
    return DefineClass(env, "NativeMedia", {
        InstanceMethod("info", &NativeMedia::Info),
        InstanceMethod("tokenize", &NativeMedia::Tokenize),
        InstanceMethod("dispose", &NativeMedia::Dispose),
    });
}

// new NativeMedia(nodeLlamaCppModel, mmprojPath, { threads?, useGpu?, flashAttention?, maxImageTokens? })
NativeMedia::NativeMedia(const Napi::CallbackInfo & info) : Napi::ObjectWrap<NativeMedia>(info) {
    Napi::Env env = info.Env();
    const llama_model * model = unwrapNodeLlamaCppModel(info[0]);
    std::string path = contract::string(env, info[1], "mmprojPath");
    mtmd_context_params p = contract::mediaParams(env, info[2]);
    mtmd_context * m = mtmd_init_from_file(path.c_str(), model, p);
    if (m == nullptr) throw Napi::Error::New(env, "could not load the mmproj " + path + " (not an mmproj file, or it does not fit this model)");
    mctx = std::shared_ptr<mtmd_context>(m, mtmd_free);
    threads = p.n_threads;
    modelRef = Napi::Persistent(info[0]);
}

NativeMedia::~NativeMedia() = default;

void NativeMedia::requireLoaded(Napi::Env env) {
    if (!mctx) throw Napi::Error::New(env, "the mmproj was released");
}

Napi::Value NativeMedia::Info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    requireLoaded(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("vision", mtmd_support_vision(mctx.get()));
    o.Set("audio", mtmd_support_audio(mctx.get()));
    o.Set("audioSampleRate", mtmd_support_audio(mctx.get()) ? mtmd_get_audio_sample_rate(mctx.get()) : 0);
    o.Set("marker", mtmd_default_marker());
    o.Set("mrope", mtmd_decode_use_mrope(mctx.get()));
    return o;
}

Napi::Value NativeMedia::Dispose(const Napi::CallbackInfo & info) {
    mctx.reset(); // freed now unless a running evaluation still holds it
    modelRef.Reset();
    return info.Env().Undefined();
}

// tokenize(text, items: [{ id?, width, height, rgb } | { id?, samples }]): the prompt's pieces.
Napi::Value NativeMedia::Tokenize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    requireLoaded(env);
    std::string text = contract::string(env, info[0], "text");
    Napi::Array items = contract::array(env, info[1], "items");
    return tokenizeMediaPrompt(env, mctx, threads, text, items);
}
