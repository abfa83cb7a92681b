#!/usr/bin/env bash
# Builds llama.cpp's own tools (llama-bench, llama-completion, llama-quantize, llama-mtmd-cli and
# libmtmd) from the llama.cpp source that the pinned node-llama-cpp ships, offline, linked to
# node-llama-cpp's prebuilt libllama / libggml of one backend variant (default: this machine's CPU
# variant; AUTOGLM_VARIANT=linux-x64-cuda for CUDA), so the reference runs the very kernels autoglm runs.
# They are what tests and benchmarks compare against. Prints the folder holding the binaries.
# --with-server also builds llama-server (the reference for `autoglm serve` benchmarks).
# Cached per llama.cpp release and variant in $AUTOGLM_CACHE (default ~/.cache/autoglm).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$(bash "$root/scripts/llama-source.sh")
variant="${AUTOGLM_VARIANT:-$(node -p 'process.platform + "-" + process.arch')}"
dir=$(ls -d "$root"/node_modules/@node-llama-cpp/"$variant"/bins/*/ 2>/dev/null | head -n1 || true)
[ -n "$dir" ] || { echo "build-llama-tools: node-llama-cpp has no prebuilt binaries for $variant" >&2; exit 1; }
dir=${dir%/}
llama_lib=$(cd "$dir" && ls libllama*.so | grep -v common | head -n1)
ggml_lib=$(cd "$dir" && ls libggml.*so | head -n1)
build="$(dirname "$src")/tools-$variant"
bin="$build/bin"
targets=(llama-bench llama-completion llama-quantize llama-mtmd-cli)
[ "${1:-}" = "--with-server" ] && targets+=(llama-server)

missing=0
for t in "${targets[@]}"; do [ -x "$bin/$t" ] || missing=1; done
if [ "$missing" = 0 ] && [ "$bin/llama-bench" -nt "$root/scripts/reference-tools/CMakeLists.txt" ]; then echo "$bin"; exit 0; fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
{
    cmake -S "$root/scripts/reference-tools" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_SRC="$src" -DVARIANT_DIR="$dir" -DLLAMA_LIB="$llama_lib" -DGGML_LIB="$ggml_lib"
    cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"
} >"$build.log" 2>&1 || { echo "build-llama-tools: build failed, see $build.log" >&2; tail -20 "$build.log" >&2; exit 1; }
echo "$bin"
