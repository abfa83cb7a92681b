#!/usr/bin/env bash
# Prints the folder of the llama.cpp source that the pinned node-llama-cpp ships, cloning its git
# bundle (offline) into $AUTOGLM_CACHE (default ~/.cache/autoglm) on first use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle="$root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "llama-source: $bundle not found; run npm install first" >&2; exit 1; }
tag=$(node -p "require('$root/node_modules/node-llama-cpp/llama/llama.cpp.info.json').tag")
src="${AUTOGLM_CACHE:-$HOME/.cache/autoglm}/llama.cpp-$tag/src"
if [ ! -f "$src/include/llama.h" ]; then
    rm -rf "$src"
    mkdir -p "$(dirname "$src")"
    git -c advice.detachedHead=false clone --quiet "$bundle" "$src" >&2
fi
echo "$src"
