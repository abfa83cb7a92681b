#!/usr/bin/env bash
# Reproduces the crash of docs/vulkan-lavapipe-crash.md on Mesa's lavapipe (llvmpipe), without autoglm's
# runtime: llama.cpp's own llama-mtmd-cli (built from the bundled source against node-llama-cpp's
# Vulkan libraries) in chat mode, a text turn then an image turn, --runs times with flash attention on
# and --runs times with it off; prints how many runs of each ended by a signal. --autoglm runs
# `autoglm chat --flash-attn on|off` the same way too.
#   scripts/vulkan-lavapipe-repro.sh [--runs 8] [--autoglm] [--work DIR]
# Needs Debian's mesa-vulkan-drivers (lavapipe) and the Vulkan build of the tools (built here on first use).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=8 with_autoglm=0 work=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --autoglm) with_autoglm=1; shift ;;
        --work) work=$2; shift 2 ;;
        *) echo "vulkan-lavapipe-repro: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || { echo "vulkan-lavapipe-repro: Mesa's lavapipe is not installed (mesa-vulkan-drivers)" >&2; exit 1; }
work=${work:-$(mktemp -d /tmp/autoglm-lavapipe-repro.XXXXXX)}
mkdir -p "$work"
tools=$(AUTOGLM_VARIANT=linux-x64-vulkan bash "$root/scripts/build-llama-tools.sh") || exit 1
autoglm() { node "$root/bin/autoglm.js" "$@"; }
# A tiny random-weight GLM-4.1V pair (3 layers; any GLM-4.1V GGUF and its mmproj should do) and a 96x64 PNG.
if [ ! -f "$work/out/glm4v-Q8_0.gguf" ]; then
    autoglm synthesize glm4v "$work/glm4v" --force >/dev/null && autoglm convert "$work/glm4v" --out "$work/out" --outtype q8_0 --force >/dev/null || exit 1
fi
model="$work/out/glm4v-Q8_0.gguf" mmproj="$work/out/mmproj-glm4v-vision-F16.gguf" image="$work/picture.png"
(cd "$root" && node --input-type=module -e '
    import sharp from "sharp";
    const [w, h] = [96, 64], rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]] = [(i * 7) % 256, (i * 3) % 256, (i * 11) % 256];
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(process.argv[1]);' "$image") || exit 1

export GGML_VK_VISIBLE_DEVICES=0 # ggml lists no CPU-type Vulkan device otherwise
# count LABEL COMMAND...: runs the command --runs times; prints the runs that ended by a signal.
count() {
    local label=$1 crashed=0 rc
    shift
    for ((i = 1; i <= runs; i++)); do
        "$@" >"$work/last.out" 2>"$work/last.err"
        rc=$?
        ((rc > 128)) && crashed=$((crashed + 1)) && echo "  $label run $i: signal $((rc - 128))" >&2
    done
    printf '%-40s %d of %d runs crashed\n' "$label" "$crashed" "$runs"
}
mtmd() {
    printf 'hello there\n/image %s\nwhat is this\n/quit\n' "$image" |
        "$tools/llama-mtmd-cli" -m "$model" --mmproj "$mmproj" -ngl 99 -n 6 --temp 0 -fa "$1" --jinja
}
chat() {
    printf 'hello there\n/image %s what is this\n/exit\n' "$image" |
        node "$root/bin/autoglm.js" chat -m "$model" --mmproj "$mmproj" --gpu vulkan -n 6 --temp 0 --flash-attn "$1"
}
echo "lavapipe: $(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || echo unknown); work: $work"
count "llama-mtmd-cli -fa on" mtmd on
count "llama-mtmd-cli -fa off" mtmd off
if ((with_autoglm)); then
    count "autoglm chat --flash-attn on" chat on
    count "autoglm chat --flash-attn off" chat off
fi
