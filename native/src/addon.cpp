// autoglm's native addon: the pieces node-llama-cpp cannot do (see ../shared/docs/DESIGN.md).
#include <napi.h>
#include "llama.h"
#include "native-context.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("NativeContext", NativeContext::Define(env));
    return exports;
}

NODE_API_MODULE(autoglm, Init)
