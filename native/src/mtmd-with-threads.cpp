// libmtmd as the addon compiles it: the bundled tools/mtmd/mtmd.cpp plus one setter. libmtmd takes its
// encoder thread count once, at init, yet reads it (mtmd_context::n_threads) on every encode call;
// the thread budget (thread-budget.h) gives each encoder pass the count it may use now.
#include "mtmd.cpp"
#include "mtmd-threads.h"

void setMtmdThreads(mtmd_context * ctx, int32_t threads) { ctx->n_threads = threads; }
