#!/usr/bin/env bash
# Conversion benchmark (not a test): a BF16 safetensors checkpoint to quantized GGUF, autoglm in one
# step (`autoglm convert --outtype TYPE`) against llama.cpp's two steps back to back (`autoglm convert
# --outtype f16`, the stand-in for convert_hf_to_gguf.py, which needs PyTorch, then `llama-quantize`),
# interleaved round by round (the order alternates), on the same machine and threads. Prints a markdown
# table: medians of wall time, the ratio one step / two steps, peak RSS, the 1-minute load average.
#   scripts/bench-convert.sh [--shape bench|full] [--types q4_k_m,q4_0] [--rounds 3] [--threads N] [checkpoint-dir]
# --shape bench: `autoglm synthesize glm4 --shape bench` (~200M parameters, 378 MB of BF16);
# --shape full: `autoglm synthesize glm4v --shape full` (the AutoGLM-Phone-9B shape: 20.6 GB of BF16,
# text and vision; both routes then also write the F16 vision mmproj, and llama-quantize quantizes
# the text file). Checkpoints and outputs go to $AUTOGLM_BENCH_DIR (default /tmp/autoglm-bench); each
# output is deleted once measured, so the full shape needs about 50 GB free.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shape=bench types=q4_k_m,q4_0 rounds=3 threads=$(nproc) ckpt=""
while [ $# -gt 0 ]; do
    case "$1" in
        --shape) shape=$2; shift 2 ;;
        --types) types=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        -*) echo "bench-convert: unknown option $1" >&2; exit 2 ;;
        *) ckpt=$1; shift ;;
    esac
done
case "$shape" in
    bench) arch=glm4 ;;
    full) arch=glm4v ;;
    *) echo "bench-convert: --shape is bench or full" >&2; exit 2 ;;
esac
work="${AUTOGLM_BENCH_DIR:-/tmp/autoglm-bench}"
ckpt="${ckpt:-$work/$arch-$shape}"
out="$work/out"
mkdir -p "$work" "$out"
autoglm() { node "$root/bin/autoglm.js" "$@"; }
[ -f "$ckpt/config.json" ] || autoglm synthesize "$arch" "$ckpt" --shape "$shape" --force >&2
tools=$(bash "$root/scripts/build-llama-tools.sh")
name=$(basename "$ckpt")

load() { cut -d' ' -f1 /proc/loadavg; }
# Runs a command under GNU time; prints "seconds peak_rss_kib load_before cpu_seconds".
measure() {
    local log l wall rss user sys
    log=$(mktemp)
    l=$(load)
    /usr/bin/time -f "%e %M %U %S" -o "$log" "$@" >"$log.out" 2>&1 || { cat "$log.out" "$log" >&2; exit 1; }
    read -r wall rss user sys <"$log"
    echo "$wall $rss $l $(echo "$user + $sys" | bc -l)"
    rm -f "$log" "$log.out"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
max() { sort -g | tail -n1; }

results=$(mktemp)
one_step() { # type -> "one s rss load"
    local r
    r=$(measure node "$root/bin/autoglm.js" convert "$ckpt" --out "$out/one" --outtype "$1" --threads "$threads" --force)
    echo "one $1 $r" >>"$results"
    rm -rf "$out/one"
}
two_steps() {
    local a b
    a=$(measure node "$root/bin/autoglm.js" convert "$ckpt" --out "$out/f16" --outtype f16 --threads "$threads" --force)
    b=$(measure "$tools/llama-quantize" "$out/f16/$name-F16.gguf" "$out/llama-quantize.gguf" "$1" "$threads")
    echo "f16 $1 $a" >>"$results"
    echo "lq $1 $b" >>"$results"
    rm -rf "$out/f16" "$out/llama-quantize.gguf"
}
sync
for ((round = 1; round <= rounds; round++)); do
    for type in ${types//,/ }; do
        echo "bench-convert: round $round, $type (load $(load))" >&2
        if ((round % 2)); then one_step "$type"; two_steps "$type"; else two_steps "$type"; one_step "$type"; fi
    done
done

pick() { awk -v s="$1" -v t="$2" -v c="$3" '$1 == s && $2 == t { print $c }' "$results"; }
echo "| $name -> | autoglm, one step | peak RSS | autoglm --outtype f16 | llama-quantize ($threads threads) | two steps | peak RSS | one / two | CPU one / two | load (1 min) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for type in ${types//,/ }; do
    one=$(pick one "$type" 3 | median)
    f16=$(pick f16 "$type" 3 | median)
    lq=$(pick lq "$type" 3 | median)
    # Per-round sums, so the two-step median is of whole runs.
    two=$(paste <(pick f16 "$type" 3) <(pick lq "$type" 3) | awk '{ print $1 + $2 }' | median)
    rss1=$( (pick one "$type" 4) | max)
    rss2=$( (pick f16 "$type" 4; pick lq "$type" 4) | max)
    loads=$(awk -v t="$type" '$2 == t { print $5 }' "$results" | sort -g | sed -n '1p;$p' | paste -sd- -)
    # CPU seconds (user + system), the figure the other jobs on a shared machine disturb least.
    cpu1=$(pick one "$type" 6 | median)
    cpu2=$(paste <(pick f16 "$type" 6) <(pick lq "$type" 6) | awk '{ print $1 + $2 }' | median)
    printf '| %s | %.1f s | %d MiB | %.1f s | %.1f s | %.1f s | %d MiB | %.2f | %.1f / %.1f s = %.2f | %s |\n' \
        "$type" "$one" $((rss1 / 1024)) "$f16" "$lq" "$two" $((rss2 / 1024)) "$(echo "$one / $two" | bc -l)" \
        "$cpu1" "$cpu2" "$(echo "$cpu1 / $cpu2" | bc -l)" "$loads"
done
echo
echo "medians of $rounds round(s), interleaved; peak RSS: the largest of any run (two steps: of either step);"
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB;" \
    "checkpoint: $ckpt ($(du -sh "$ckpt" | cut -f1)); $(date -u +%Y-%m-%d)"
rm -f "$results"
