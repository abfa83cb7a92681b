// The encoder thread count of an mtmd context, per encode call (mtmd-with-threads.cpp).
#pragma once
#include <cstdint>
#include "mtmd.h"

/** Threads the next encode on `ctx` uses. Call on the thread that encodes. */
void setMtmdThreads(mtmd_context * ctx, int32_t threads);
