// autoglm's native addon: the pieces node-llama-cpp cannot do (see ../shared/docs/DESIGN.md).
#include <napi.h>
#include "llama.h"
#include "native-context.h"

static Napi::Value SystemInfo(const Napi::CallbackInfo & info) {
    return Napi::String::New(info.Env(), llama_print_system_info());
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("NativeContext", NativeContext::Define(env));
    exports.Set("systemInfo", Napi::Function::New(env, SystemInfo));
    return exports;
}

NODE_API_MODULE(autoglm, Init)
