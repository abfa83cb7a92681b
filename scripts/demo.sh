#!/usr/bin/env bash
# The no-download demo: writes a tiny random-weight AutoGLM-shaped checkpoint (GLM-4.1V layout)
# and converts it to a Q4_0 text GGUF plus its vision mmproj, then shows what was written.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="${AUTOGLM_DEMO_DIR:-${TMPDIR:-/tmp}/autoglm-demo}"
autoglm() { node "$root/bin/autoglm.js" "$@"; }
autoglm synthesize glm4v "$demo/autoglm-tiny-random" --force
autoglm convert "$demo/autoglm-tiny-random" --out "$demo/gguf" --outtype q4_0 --force
autoglm info "$demo/gguf/autoglm-tiny-random-Q4_0.gguf" | head -n 12
echo "(random-weight demo model: its text is noise; point 'autoglm convert' at a real checkpoint folder for a real model)"
autoglm bench -m "$demo/gguf/autoglm-tiny-random-Q4_0.gguf" -p 128 -n 32 -r 3
printf "Hello\nWhat can you do?\n" | autoglm chat -m "$demo/gguf/autoglm-tiny-random-Q4_0.gguf" --temp 0 -n 16 --stats
