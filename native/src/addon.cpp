// autoglm's native addon: the pieces node-llama-cpp cannot do (docs/architecture.md).
#include <napi.h>
#include "llama.h"
#include "native-context.h"
#include "native-media.h"
#include "quantize.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("NativeContext", NativeContext::Define(env));
    exports.Set("NativeMedia", NativeMedia::Define(env));
    exports.Set("quantizeRows", Napi::Function::New(env, QuantizeRows, "quantizeRows"));
    return exports;
}

NODE_API_MODULE(autoglm, Init)
