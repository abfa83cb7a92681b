#!/usr/bin/env bash
# Conversion benchmark (not a test): a 9B-shape BF16 checkpoint to Q4_0, autoglm in one step, next
# to llama.cpp's path where it runs here. Prints a markdown table of wall time and peak RSS.
#   scripts/bench-convert.sh [checkpoint-dir]
# Without an argument it writes the random-weight AutoGLM-Phone-9B-shape checkpoint (20.6 GB) into
# $AUTOGLM_BENCH_DIR (default /tmp/autoglm-bench) first. Needs about 3x the checkpoint size free.
# OUTTYPE=q4_k_m (or any --outtype) benchmarks that type; INTERMEDIATE=f16 makes llama.cpp's route go
# through an F16 file instead of BF16.
# llama.cpp's first step, convert_hf_to_gguf.py, needs PyTorch; where python3 cannot import torch,
# autoglm's bit-compatible BF16 conversion stands in for it and only llama-quantize is timed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="${AUTOGLM_BENCH_DIR:-/tmp/autoglm-bench}"
ckpt="${1:-$work/autoglm-9b-random}"
out="$work/out"
outtype="${OUTTYPE:-q4_0}"
mid="${INTERMEDIATE:-bf16}"
MID=$(echo "$mid" | tr a-z A-Z)
mkdir -p "$work" "$out"
autoglm() { node "$root/bin/autoglm.js" "$@"; }

if [ ! -f "$ckpt/config.json" ]; then
    autoglm synthesize glm4v "$ckpt" --shape full --force
fi
tools=$(bash "$root/scripts/build-llama-tools.sh")

# Runs a command under GNU time; prints "seconds peak_rss_kib".
measure() {
    local log; log=$(mktemp)
    /usr/bin/time -v "$@" >"$log.out" 2>"$log" || { cat "$log" "$log.out" >&2; exit 1; }
    local wall rss
    wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
    rm -f "$log" "$log.out"
    echo "$wall $rss"
}
row() { printf '| %s | %.1f s | %.0f MiB |\n' "$1" "$2" "$(echo "$3 / 1024" | bc -l)"; }

sync
read -r a_s a_rss < <(measure node "$root/bin/autoglm.js" convert "$ckpt" --out "$out/autoglm" --outtype "$outtype" --force)
read -r b_s b_rss < <(measure node "$root/bin/autoglm.js" convert "$ckpt" --out "$out/$mid" --outtype "$mid" --force)
name=$(basename "$ckpt")
read -r q_s q_rss < <(measure "$tools/llama-quantize" "$out/$mid/$name-$MID.gguf" "$out/llama-quantize-$outtype.gguf" "$outtype" "$(nproc)")
if python3 -c "import torch" 2>/dev/null; then
    src=$(dirname "$tools")/../src
    read -r c_s c_rss < <(measure python3 "$src/convert_hf_to_gguf.py" "$ckpt" --outtype "$mid" --outfile "$out/llama-$mid.gguf")
fi

echo "| step | wall time | peak RSS |"
echo "| --- | --- | --- |"
row "autoglm convert --outtype $outtype (text + mmproj if any, one step)" "$a_s" "$a_rss"
row "autoglm convert --outtype $mid (text + mmproj if any)" "$b_s" "$b_rss"
if [ -n "${c_s:-}" ]; then row "llama.cpp convert_hf_to_gguf.py --outtype $mid (text only)" "$c_s" "$c_rss"; fi
row "llama.cpp llama-quantize $MID -> $outtype (text only, $(nproc) threads)" "$q_s" "$q_rss"
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; checkpoint: $ckpt ($(du -sh "$ckpt" | cut -f1))"
