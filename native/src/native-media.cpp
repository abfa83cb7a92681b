#include "native-media.h"
#include "model-handle.h"
#include "mtmd-helper.h"
#include "media-chunk.h"
#include <cstdio>

// libmtmd's own logger (not llama_log_set, which stays node-llama-cpp's): progress lines are dropped,
// warnings and errors go to stderr unless the front end keeps library logs out (logWarnings: false).
static bool mediaLogWarnings = true;
static void mediaLog(ggml_log_level level, const char * text, void *) {
    if (mediaLogWarnings && (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR)) fputs(text, stderr);
}

Napi::Function NativeMedia::Define(Napi::Env env) {
    return DefineClass(env, "NativeMedia", {
        InstanceMethod("info", &NativeMedia::Info),
        InstanceMethod("tokenize", &NativeMedia::Tokenize),
        InstanceMethod("tokenizeParts", &NativeMedia::TokenizeParts),
        InstanceMethod("dispose", &NativeMedia::Dispose),
    });
}

// new NativeMedia(nodeLlamaCppModel, mmprojPath, { threads, useGpu, flashAttention, maxImageTokens, logWarnings })
NativeMedia::NativeMedia(const Napi::CallbackInfo & info) : Napi::ObjectWrap<NativeMedia>(info) {
    Napi::Env env = info.Env();
    const llama_model * model = unwrapNodeLlamaCppModel(info[0]);
    modelRef = Napi::Persistent(info[0]);
    std::string path = info[1].As<Napi::String>().Utf8Value();
    Napi::Object o = info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
    if (o.Get("logWarnings").IsBoolean()) mediaLogWarnings = o.Get("logWarnings").As<Napi::Boolean>().Value();
    mtmd_helper_log_set(mediaLog, nullptr);
    mtmd_context_params p = mtmd_context_params_default();
    if (o.Get("threads").IsNumber()) p.n_threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (o.Get("useGpu").IsBoolean()) p.use_gpu = o.Get("useGpu").As<Napi::Boolean>().Value();
    if (o.Get("flashAttention").IsString()) {
        // The encoder's attention kernel follows the context's setting, as llama.cpp's tools do.
        std::string fa = o.Get("flashAttention").As<Napi::String>().Utf8Value();
        p.flash_attn_type = fa == "on" ? LLAMA_FLASH_ATTN_TYPE_ENABLED : fa == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    }
    if (o.Get("maxImageTokens").IsNumber()) p.image_max_tokens = o.Get("maxImageTokens").As<Napi::Number>().Int32Value();
    p.print_timings = false;
    mtmd_context * m = mtmd_init_from_file(path.c_str(), model, p);
    if (m == nullptr) throw Napi::Error::New(env, "could not load the mmproj " + path + " (not an mmproj file, or it does not fit this model)");
    mctx = std::shared_ptr<mtmd_context>(m, mtmd_free);
}

NativeMedia::~NativeMedia() = default;

Napi::Value NativeMedia::Info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!mctx) throw Napi::Error::New(env, "the mmproj was released");
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
    if (!mctx) throw Napi::Error::New(env, "the mmproj was released");
    return tokenizeMediaPrompt(env, mctx, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Array>());
}

// tokenizeParts(parts: [{ text, special } | media item]): the prompt's pieces, each text with its own parsing flag.
Napi::Value NativeMedia::TokenizeParts(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!mctx) throw Napi::Error::New(env, "the mmproj was released");
    return tokenizeMediaParts(env, mctx, info[0]);
}
