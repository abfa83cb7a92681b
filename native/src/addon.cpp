// autoglm's native addon: the pieces node-llama-cpp cannot do (docs/architecture.md).
#include <napi.h>
#include "contract.h"
#include "llama.h"
#include "native-context.h"
#include "native-media.h"
#include "quantize.h"
#include "thread-budget.h"

namespace {

// setThreadBudget(total): the threads every native consumer of the process shares (src/core/threads.ts
// owns the figure). Process-wide, like the cores it stands for.
Napi::Value SetThreadBudget(const Napi::CallbackInfo & info) {
    int32_t n = contract::int32(info.Env(), info[0], "total");
    if (n <= 0) throw Napi::TypeError::New(info.Env(), "native contract: total must be a positive integer");
    ThreadBudget::process().setTotal(n);
    return info.Env().Undefined();
}

// threadBudget(): { total, peak }: the budget, and the most threads its consumers held at once since
// the last call (tests check the peak never passes the total).
Napi::Value ThreadBudgetState(const Napi::CallbackInfo & info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("total", ThreadBudget::process().total());
    o.Set("peak", ThreadBudget::process().takePeak());
    return o;
}

} // namespace

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    installMediaLog();
    exports.Set("NativeContext", NativeContext::Define(env));
    exports.Set("NativeMedia", NativeMedia::Define(env));
    exports.Set("setMediaLogWarnings", Napi::Function::New(env, SetMediaLogWarnings, "setMediaLogWarnings"));
    exports.Set("setThreadBudget", Napi::Function::New(env, SetThreadBudget, "setThreadBudget"));
    exports.Set("threadBudget", Napi::Function::New(env, ThreadBudgetState, "threadBudget"));
    exports.Set("quantizeRows", Napi::Function::New(env, QuantizeRows, "quantizeRows"));
    return exports;
}

NODE_API_MODULE(autoglm, Init)
