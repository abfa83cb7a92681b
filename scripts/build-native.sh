#!/usr/bin/env bash
# Builds the native addon (native/) once per node-llama-cpp backend variant installed
# (linux-x64 = CPU, linux-x64-cuda, linux-x64-vulkan, ...), each linked to that variant's own
# prebuilt libllama/libggml: at run time the addon matching the variant node-llama-cpp loaded is used.
# Output: native/build/<variant>/autoglm.node. Offline: headers come from the bundled llama.cpp source.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$(bash "$root/scripts/llama-source.sh")
node_include=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
[ -f "$node_include/node_api.h" ] || node_include="$(npm config get nodedir 2>/dev/null)/include/node"
[ -f "$node_include/node_api.h" ] || { echo "build-native: Node.js headers not found (node_api.h)" >&2; exit 1; }
napi_include=$(cd "$root" && node -p "require('node-addon-api').include_dir")
case "$napi_include" in /*) ;; *) napi_include="$root/$napi_include" ;; esac
addon_dir="$root/node_modules/node-llama-cpp/llama/addon"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# Only the variants this machine can run are built at install: the CPU one always, CUDA where an
# NVIDIA driver is present, Vulkan where a Vulkan loader is. AUTOGLM_NATIVE_VARIANTS="all" (or a
# comma-separated list of package names) overrides; a missing variant is reported at first use.
wants() {
    local variant=$1
    case "${AUTOGLM_NATIVE_VARIANTS:-}" in
        all) return 0 ;;
        "") ;;
        *) [[ ",$AUTOGLM_NATIVE_VARIANTS," == *",$variant,"* ]]; return ;;
    esac
    case "$variant" in
        "$host") return 0 ;;
        *-cuda*) [ -e /dev/nvidiactl ] || ldconfig -p 2>/dev/null | grep -q 'libcuda\.so' ;;
        *-vulkan*) ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' ;;
        *-metal*) [ "$(uname -s)" = Darwin ] ;;
        *) return 1 ;;
    esac
}

built=0
# node-llama-cpp names its packages mac-*, linux-*, win-*; libraries end in .so or .dylib.
host=$(node -p '({ darwin: "mac", win32: "win" }[process.platform] ?? process.platform) + "-" + process.arch')
ext=so
[ "$(uname -s)" = Darwin ] && ext=dylib
for pkg in "$root"/node_modules/@node-llama-cpp/"$host"*/; do
    for dir in "$pkg"bins/*/; do
        [ -d "$dir" ] || continue
        llama_lib=$(cd "$dir" && ls libllama*."$ext" 2>/dev/null | grep -v common | head -n1 || true)
        ggml_lib=$(cd "$dir" && ls libggml.*"$ext" 2>/dev/null | head -n1 || true)
        [ -n "$llama_lib" ] && [ -n "$ggml_lib" ] || continue
        variant=$(basename "$pkg") # the package (linux-x64-cuda and linux-x64-cuda-ext share a bins folder name)
        wants "$variant" || { echo "build-native: skipping the $variant variant (this machine cannot run it; AUTOGLM_NATIVE_VARIANTS=$variant builds it)" >&2; continue; }
        out="$root/native/build/$variant"
        if [ -f "$out/autoglm.node" ] && [ "$out/autoglm.node" -nt "$root/native/CMakeLists.txt" ] && [ -z "$(find "$root/native/src" -newer "$out/autoglm.node")" ]; then
            built=$((built + 1)); continue
        fi
        log="$root/native/build/$variant.log"
        mkdir -p "$out"
        echo "build-native: building the $variant addon (log: native/build/$variant.log)..." >&2
        started=$SECONDS
        if cmake -S "$root/native" -B "$out/cmake" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
                -DLLAMA_SRC="$src" -DVARIANT_DIR="${dir%/}" -DLLAMA_LIB="$llama_lib" -DGGML_LIB="$ggml_lib" -DLIB_EXT="$ext" \
                -DNODE_INCLUDE="$node_include" -DNAPI_INCLUDE="$napi_include" -DNLC_ADDON_DIR="$addon_dir" >"$log" 2>&1 \
            && cmake --build "$out/cmake" --parallel "$(nproc)" >>"$log" 2>&1; then
            cp "$out/cmake/autoglm.node" "$out/autoglm.node"
            echo "build-native: $variant built in $((SECONDS - started)) s" >&2
            built=$((built + 1))
        else
            echo "build-native: the $variant variant did not build (see $log)" >&2
            [ "$variant" = "$host" ] && { tail -20 "$log" >&2; exit 1; }
            true
        fi
    done
done
[ "$built" -gt 0 ] || { echo "build-native: no node-llama-cpp prebuilt binaries found" >&2; exit 1; }
