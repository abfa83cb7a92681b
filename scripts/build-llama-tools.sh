#!/usr/bin/env bash
# Builds llama.cpp's own tools (llama-bench, llama-completion, llama-quantize, llama-mtmd-cli and
# libmtmd) from the llama.cpp source that the pinned node-llama-cpp ships, offline, linked to
# node-llama-cpp's prebuilt libllama / libggml of one backend variant (default: this machine's CPU
# variant; AUTOGLM_VARIANT=linux-x64-cuda for CUDA), so the reference runs the very kernels autoglm runs.
# They are what tests and benchmarks compare against. Prints the folder holding the binaries.
# --with-server also builds llama-server (the reference for `autoglm serve` benchmarks);
# AUTOGLM_LLAMA_TOOLS=llama-bench,llama-quantize builds only those.
# Cached per llama.cpp release and variant in $AUTOGLM_CACHE (default ~/.cache/autoglm). The cache is
# self-contained: the tools sit beside copies of the variant's libraries (an $ORIGIN run path) and the
# CMake project is copied too, so deleting the package copy that built it breaks nothing. A cached
# build is run before it is trusted (its libraries resolved, llama-bench listing the devices); one
# that does not run is rebuilt, with one line on stderr saying why.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$(bash "$root/scripts/llama-source.sh")
variant="${AUTOGLM_VARIANT:-$(node -p 'process.platform + "-" + process.arch')}"
dir=$(ls -d "$root"/node_modules/@node-llama-cpp/"$variant"/bins/*/ 2>/dev/null | head -n1 || true)
[ -n "$dir" ] || { echo "build-llama-tools: node-llama-cpp has no prebuilt binaries for $variant" >&2; exit 1; }
dir=${dir%/}
llama_lib=$(cd "$dir" && ls libllama*.so | grep -v common | head -n1)
ggml_lib=$(cd "$dir" && ls libggml.*so | head -n1)
build="$(dirname "$src")/reference-tools-$variant" # not tools-$variant: that older layout held links into a package copy
bin="$build/bin"
project="$build.project" # the CMake project as built: a build tree is tied to one source folder, which no package copy may own
targets=(llama-bench llama-completion llama-quantize llama-mtmd-cli)
[ "${1:-}" = "--with-server" ] && targets+=(llama-server)
[ -n "${AUTOGLM_LLAMA_TOOLS:-}" ] && IFS=, read -r -a targets <<<"$AUTOGLM_LLAMA_TOOLS"

# One build at a time per cache folder: test files and benchmarks may ask at once.
mkdir -p "$(dirname "$build")"
exec 9>"$build.lock"
flock 9

# What a build is made from: the CMake project, the variant and its libraries (names and sizes).
recipe=$({
    cat "$root/scripts/reference-tools/CMakeLists.txt"
    echo "$variant $llama_lib $ggml_lib"
    (cd "$dir" && stat -c '%n %s' -- *.so*)
} | sha256sum | cut -c1-32)

# Why the cached tools cannot be used as they are: empty when they run; "missing" when a tool was never built.
why_not() {
    local t out
    for t in "${targets[@]}"; do
        [ -x "$bin/$t" ] || { echo missing; return; }
    done
    [ "$(cat "$build/recipe" 2>/dev/null)" = "$recipe" ] || { echo "they were built from another recipe or variant"; return; }
    for t in "${targets[@]}"; do
        # The dynamic loader's view (as ldd): every library the tool needs must resolve.
        out=$(LD_TRACE_LOADED_OBJECTS=1 "$bin/$t" 2>&1) || { echo "$t: $(tail -n1 <<<"$out")"; return; }
        if grep -q 'not found' <<<"$out"; then
            echo "$t: $(grep -m1 'not found' <<<"$out" | sed 's/^[[:space:]]*//; s/ => not found/: cannot open shared object file/')"
            return
        fi
    done
    # And the tools run: ggml loads its backend libraries from beside the executable.
    if [ -x "$bin/llama-bench" ] && ! out=$("$bin/llama-bench" --list-devices 2>&1); then
        echo "llama-bench --list-devices failed: $(tail -n1 <<<"$out")"
        return
    fi
}

why=$(why_not)
[ -z "$why" ] && { echo "$bin"; exit 0; }
[ "$why" = missing ] || echo "build-llama-tools: the cached tools in $bin cannot be used ($why); rebuilding" >&2

mkdir -p "$project"
cmp -s "$root/scripts/reference-tools/CMakeLists.txt" "$project/CMakeLists.txt" || cp "$root/scripts/reference-tools/CMakeLists.txt" "$project/CMakeLists.txt"
# A build tree configured from another source folder (a package copy, by older versions of this script) cannot be reused.
if [ -f "$build/CMakeCache.txt" ] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$project" "$build/CMakeCache.txt"; then
    rm -rf "$build"
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if ! {
    cmake -S "$project" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_SRC="$src" -DVARIANT_DIR="$dir" -DLLAMA_LIB="$llama_lib" -DGGML_LIB="$ggml_lib" &&
        cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"
} >"$build.log" 2>&1; then
    echo "build-llama-tools: build failed, see $build.log" >&2
    tail -20 "$build.log" >&2
    exit 1
fi
echo "$recipe" >"$build/recipe"
why=$(why_not)
[ -z "$why" ] || { echo "build-llama-tools: the tools just built in $bin do not run ($why)" >&2; exit 1; }
echo "$bin"
