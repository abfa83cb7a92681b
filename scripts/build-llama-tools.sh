#!/usr/bin/env bash
# Builds llama.cpp's own tools (llama-mtmd-cli, llama-completion, llama-bench, llama-server,
# llama-quantize) from the llama.cpp source that the pinned node-llama-cpp ships
# (node_modules/node-llama-cpp/llama/gitRelease.bundle), offline, with the same CPU backend layout
# as node-llama-cpp's prebuilt binaries (one dynamically loaded ggml-cpu library per CPU variant).
# They are the reference that tests and benchmarks compare autoglm against.
# Prints the folder holding the binaries. Cached per llama.cpp release in $AUTOGLM_CACHE
# (default ~/.cache/autoglm); delete that folder to rebuild.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle="$root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "build-llama-tools: $bundle not found; run npm install first" >&2; exit 1; }
tag=$(node -p "require('$root/node_modules/node-llama-cpp/llama/llama.cpp.info.json').tag")
cache="${AUTOGLM_CACHE:-$HOME/.cache/autoglm}/llama.cpp-$tag"
targets=(llama-mtmd-cli llama-completion llama-bench llama-server llama-quantize)
bin="$cache/build/bin"

missing=0
for t in "${targets[@]}"; do [ -x "$bin/$t" ] || missing=1; done
if [ "$missing" = 0 ]; then echo "$bin"; exit 0; fi

mkdir -p "$cache"
if [ ! -d "$cache/src/.git" ]; then
    rm -rf "$cache/src"
    git -c advice.detachedHead=false clone --quiet "$bundle" "$cache/src" >&2
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
{
    cmake -S "$cache/src" -B "$cache/build" "${generator[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
    cmake --build "$cache/build" --parallel "$(nproc)" --target "${targets[@]}"
} >"$cache/build.log" 2>&1 || { echo "build-llama-tools: build failed, see $cache/build.log" >&2; tail -20 "$cache/build.log" >&2; exit 1; }
echo "$bin"
