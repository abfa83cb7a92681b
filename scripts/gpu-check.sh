#!/usr/bin/env bash
# The GPU check: one run on an NVIDIA machine (an H100 or H200) that measures what the CPU machines
# cannot, in under 8 minutes, and writes one results file ($OUT/gpu-check.md, default ./gpu-results):
#   1. builds the CUDA variant of the native addon and llama.cpp's tools linked to the same CUDA
#      libraries (while 2. runs), 2. synthesizes the AutoGLM-Phone-9B shape (random BF16 weights),
#   3. converts it to Q4_0 and Q4_K_M (text) with the F16 vision mmproj, timed, with peak RSS,
#   4. `autoglm bench --compare-llama-bench` (pp512, tg128) on both files, the Q4_K_M one with the
#      phone-agent step (`--image`, beside llama-mtmd-cli's encode), 5. the phone-agent step through
#      `autoglm serve` against llama-server (scripts/bench-phone-step.mjs), 5b. two `autoglm agent` steps in
#      process against the same messages through both servers (scripts/bench-agent-step.mjs), 6. board power and VRAM
#      sampled from nvidia-smi throughout, and joules per generated token from a decode run of each.
#
#   scripts/gpu-check.sh [--dry-run] [--out DIR] [--budget SECONDS] [--work DIR]
#
# --dry-run runs the same steps on the CPU at the tiny shape (a minute or two); the test suite runs it
# (test/gpu-check.test.ts), so the script cannot rot. Without nvidia-smi the power and VRAM columns
# say so. Each step runs only if the time left in --budget (default 450 s of the 8 minutes) allows
# it, under `timeout`; a step that fails or is skipped is named in the results with its reason, and
# the others go on.
#
# The machine cannot reach the npm registry: run it from a tree that holds node_modules as `npm ci`
# left it on a Linux x64 machine (node-llama-cpp's @node-llama-cpp/linux-x64-cuda package included);
# dist/ and native/build/ are rebuilt here when missing or stale (cmake and a C++ compiler needed;
# the CUDA toolkit is not: the addon and the tools link node-llama-cpp's prebuilt CUDA libraries).
# llama.cpp's source is cloned from node-llama-cpp's bundle into $AUTOGLM_CACHE (default
# .cache/autoglm in the tree when it exists, so a carried build of the tools is used, else
# ~/.cache/autoglm). Needs about 35 GB free under --work (default a new folder in /tmp).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dry=0 budget=450 out="${OUT:-$root/gpu-results}" work=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry=1; shift ;;
        --out) out=$2; shift 2 ;;
        --budget) budget=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        *) echo "gpu-check: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
started=$EPOCHREALTIME
deadline=$((SECONDS + budget))
mkdir -p "$out"
results="$out/gpu-check.md"
work=${work:-$(mktemp -d /tmp/autoglm-gpu-check.XXXXXX)}
mkdir -p "$work"
[ -d "$root/.cache/autoglm" ] && export AUTOGLM_CACHE="${AUTOGLM_CACHE:-$root/.cache/autoglm}"
cd "$root"

if ((dry)); then
    shape=tiny variant=linux-x64 gpu=(--gpu cpu) reps=1 rounds=1 layers=() screen=270x600 pp=64 tg=16 decode=32
else
    shape=full variant=linux-x64-cuda gpu=(--gpu cuda --gpu-layers max) reps=3 rounds=2 layers=(--gpu-layers max) screen=1080x2400 pp=512 tg=128 decode=512
    missing=()
    command -v nvidia-smi >/dev/null || missing+=("nvidia-smi (the NVIDIA driver)")
    [ -d node_modules/@node-llama-cpp/linux-x64-cuda/bins ] || missing+=("node_modules/@node-llama-cpp/linux-x64-cuda (carry node_modules from npm ci)")
    command -v cmake >/dev/null || [ -f native/build/linux-x64-cuda/autoglm.node ] || missing+=("cmake (or a carried native/build/linux-x64-cuda)")
    if [ ${#missing[@]} -gt 0 ]; then
        printf 'gpu-check: cannot run here, missing: %s\n' "${missing[@]}" >&2
        exit 1
    fi
fi
[ -d node_modules/node-llama-cpp ] || { echo "gpu-check: node_modules is missing (carry it: the registry is not reachable on the GPU machine)" >&2; exit 1; }
ckpt="$work/autoglm-phone-9b-shape"
((dry)) && ckpt="$work/glm4v-tiny"

# --- steps: each one's window (start and end, epoch seconds), exit status and output are kept in $work.
left() { echo $((deadline - SECONDS)); }
# step NAME MIN_SECONDS COMMAND...: runs the command if MIN_SECONDS are left, under timeout.
step() {
    local name=$1 need=$2 rc=0 t0
    shift 2
    if (($(left) < need)); then
        echo "$name skipped - needs about ${need} s, $(left) s were left of the ${budget} s budget" >>"$work/steps.tsv"
        echo "gpu-check: $name skipped (budget)" >&2
        return 0
    fi
    echo "gpu-check: $name ($(left) s left)" >&2
    t0=$EPOCHREALTIME
    timeout --kill-after=10 "$(left)" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
    printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$t0" "$EPOCHREALTIME" >>"$work/steps.tsv"
    ((rc == 0)) || echo "gpu-check: $name failed (exit $rc): $(tail -n1 "$work/$name.err")" >&2
}
ok() { awk -F'\t' -v n="$1" '$1 == n && $2 == 0 { f = 1 } END { exit !f }' "$work/steps.tsv" 2>/dev/null; }
timed=()
[ -x /usr/bin/time ] && timed=(/usr/bin/time -f "peak_rss_kib %M")
autoglm=(node "$root/bin/autoglm.js")
: >"$work/steps.tsv"

sampler=""
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv,noheader >"$work/gpu.txt" 2>&1 || true
    nvidia-smi --query-gpu=timestamp,power.draw,memory.used,utilization.gpu --format=csv,noheader,nounits -lms 200 >"$work/smi.csv" 2>/dev/null &
    sampler=$!
fi
trap '[ -n "$sampler" ] && kill "$sampler" 2>/dev/null; true' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# 1 and 2: the builds while the checkpoint is written (a single-threaded writer beside parallel compiles).
step synthesize 60 "${autoglm[@]}" synthesize glm4v "$ckpt" --shape "$shape" --force &
synth=$!
if [ -z "$(find src convert models -name '*.ts' -newer dist/src/cli/main.js 2>/dev/null | head -n1)" ] && [ -f dist/src/cli/main.js ]; then
    echo "build-ts already-built" >>"$work/steps.tsv"
else
    step build-ts 30 node node_modules/typescript/bin/tsc -p tsconfig.json
fi
step build-native 30 env AUTOGLM_NATIVE_VARIANTS="linux-x64,$variant" bash scripts/build-native.sh
step build-tools 30 env AUTOGLM_VARIANT="$variant" bash scripts/build-llama-tools.sh --with-server
wait "$synth" || true

# 3: conversions.
name=$(basename "$ckpt")
for type in q4_0 q4_k_m; do
    ok synthesize && step "convert-$type" 20 "${timed[@]}" "${autoglm[@]}" convert "$ckpt" --out "$work/$type" --outtype "$type" --force
done
q4_0="$work/q4_0/$name-Q4_0.gguf" q4km="$work/q4_k_m/$name-Q4_K_M.gguf" mmproj="$work/q4_k_m/mmproj-$name-vision-F16.gguf"

# 4: autoglm bench against llama-bench (and the phone step beside llama-mtmd-cli's encode).
ok convert-q4_0 && step bench-q4_0 40 "${autoglm[@]}" bench -m "$q4_0" "${gpu[@]}" -p "$pp" -n "$tg" -r "$reps" --compare-llama-bench --json
# The screenshot: autoglm's built-in 1080x2400 ones (3,354 image tokens, a different one for step 2); the
# dry run's is a small file (for time), so its step 2 finds the image already in the cache.
image=(--image)
if ((dry)); then
    image=(--image "$work/screenshot.png")
    node --input-type=module -e '
        import sharp from "sharp";
        const [w, h] = process.argv[1].split("x").map(Number);
        const px = Buffer.alloc(w * h * 3);
        for (let i = 0; i < px.length; i++) px[i] = (i * 7 + Math.floor(i / (w * 3)) * 13) & 255;
        await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(process.argv[2]);' "$screen" "$work/screenshot.png"
fi
ok convert-q4_k_m && step bench-q4_k_m 60 "${autoglm[@]}" bench -m "$q4km" --mmproj "$mmproj" "${image[@]}" --text "${gpu[@]}" -p "$pp" -n "$tg" -r "$reps" --compare-llama-bench --json

# 6: decode runs for joules per token: autoglm, then llama-bench with the arguments autoglm gave it.
if ok bench-q4_k_m; then
    step energy-autoglm 30 "${autoglm[@]}" bench -m "$q4km" "${gpu[@]}" -p 16 -n "$decode" -r 2 --json
    mapfile -t lb < <(node -e '
        const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const a = r.llamaBench.command.split(" ").slice(1);
        const set = (k, v) => { const i = a.indexOf(k); if (i >= 0) a[i + 1] = v; else a.push(k, v); };
        set("-p", "0"); set("-n", process.argv[2]); set("-r", "2");
        console.log(a.join("\n"));' "$work/bench-q4_k_m.out" "$decode")
    tools=$(AUTOGLM_VARIANT="$variant" bash scripts/build-llama-tools.sh)
    step energy-llama-bench 30 "$tools/llama-bench" "${lb[@]}"
fi

# 5: the phone-agent step through the servers.
ok convert-q4_k_m && step phone-step 90 env AUTOGLM_VARIANT="$variant" node scripts/bench-phone-step.mjs --model "$q4km" --mmproj "$mmproj" \
    --rounds "$rounds" --gpu "${gpu[1]}" "${layers[@]}" --screenshot "$screen"
# 5b: two agent steps in process against the same messages through autoglm serve and llama-server.
ok convert-q4_k_m && step agent-step 90 env AUTOGLM_VARIANT="$variant" node scripts/bench-agent-step.mjs --model "$q4km" --mmproj "$mmproj" \
    --rounds "$rounds" --gpu "${gpu[1]}" "${layers[@]}" --screenshot "$screen"

[ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null || true
sampler=""

# --- the results file.
export GPU_CHECK_DRY=$dry GPU_CHECK_WORK=$work GPU_CHECK_BUDGET=$budget GPU_CHECK_STARTED=$started GPU_CHECK_LOAD_START=$load_start
export GPU_CHECK_PP=$pp GPU_CHECK_TG=$tg GPU_CHECK_DECODE=$decode GPU_CHECK_SHAPE=$shape GPU_CHECK_VARIANT=$variant GPU_CHECK_CKPT=$ckpt
export GPU_CHECK_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg) GPU_CHECK_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
node --input-type=module - >"$results" <<'EOF'
import { existsSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
const env = process.env;
const work = env.GPU_CHECK_WORK;
const read = (f) => (existsSync(`${work}/${f}`) ? readFileSync(`${work}/${f}`, "utf8") : "");
const steps = new Map();
const notes = [];
for (const line of read("steps.tsv").split("\n").filter(Boolean)) {
    const [name, rc, t0, t1] = line.split("\t");
    if (t0 === undefined) notes.push(line);
    else steps.set(name, { rc: Number(rc), t0: Number(t0), t1: Number(t1) });
}
const json = (name) => {
    try {
        return steps.get(name)?.rc === 0 ? JSON.parse(read(`${name}.out`)) : undefined;
    } catch {
        return undefined;
    }
};
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const sig = (x) => (Number.isFinite(x) ? x.toPrecision(4) : "-"); // joules per token span orders of magnitude
// nvidia-smi samples: "YYYY/MM/DD hh:mm:ss.mmm, watts, MiB, %" (local time).
const samples = read("smi.csv")
    .split("\n")
    .map((l) => l.split(",").map((s) => s.trim()))
    .filter((c) => c.length === 4)
    .map(([ts, w, mib, util]) => ({ t: new Date(ts.replace(/\//g, "-").replace(" ", "T")).getTime() / 1000, w: Number(w), mib: Number(mib), util: Number(util) }))
    .filter((s) => Number.isFinite(s.t));
const baseline = samples.length ? Math.min(...samples.map((s) => s.mib)) : NaN;
/** Peak VRAM above the idle baseline, and the mean board power while the GPU was busy, in a step's window. */
function gpuIn(name) {
    const s = steps.get(name);
    // The samples in the window, from the last one before it to the first one after it, so a run
    // shorter than the 200 ms interval still has the two samples around it.
    const from = s ? samples.findLastIndex((x) => x.t <= s.t0) : -1;
    const to = s ? samples.findIndex((x) => x.t >= s.t1) : -1;
    const inside = s ? samples.slice(Math.max(0, from), to < 0 ? samples.length : to + 1).filter((x) => x.t <= s.t1 + 1 && x.t >= s.t0 - 1) : [];
    if (!inside.length) return { vramMiB: NaN, watts: NaN };
    const busy = inside.filter((x) => x.util >= 50);
    const use = (busy.length ? busy : inside).filter((x) => Number.isFinite(x.w));
    return { vramMiB: Math.max(...inside.map((x) => x.mib)) - baseline, watts: use.reduce((a, x) => a + x.w, 0) / use.length };
}
const out = [];
const p = (s = "") => out.push(s);
const dry = env.GPU_CHECK_DRY === "1";
p(`# GPU check${dry ? " (dry run on the CPU, tiny shape: the figures are not GPU figures)" : ""}`);
p();
const gpu = read("gpu.txt").trim();
p(`- date: ${new Date().toISOString()}; commit ${env.GPU_CHECK_COMMIT}; node ${process.version}`);
p(`- GPU: ${gpu ? gpu.replace(/\n/g, "; ") : "none (no nvidia-smi)"}; variant ${env.GPU_CHECK_VARIANT}`);
p(`- host: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${env.GPU_CHECK_LOAD_START} at the start, ${env.GPU_CHECK_LOAD_END} at the end`);
p(`- checkpoint: ${env.GPU_CHECK_SHAPE} glm4v shape (${env.GPU_CHECK_CKPT}); budget ${env.GPU_CHECK_BUDGET} s; total ${f(Date.now() / 1000 - Number(env.GPU_CHECK_STARTED), 0)} s`);
p();
p("| step | result | seconds |");
p("| --- | --- | --- |");
for (const [name, s] of steps) {
    const why = s.rc === 0 ? "ok" : `failed (exit ${s.rc}${s.rc === 124 ? ": out of time" : ""}): ${read(`${name}.err`).trim().split("\n").pop()?.slice(0, 200) ?? ""}`;
    p(`| ${name} | ${why.replace(/\|/g, "/")} | ${f(s.t1 - s.t0)} |`);
}
for (const n of notes) p(`| ${n.split(" ")[0]} | ${n.split(" ").slice(1).join(" ")} | - |`);
p();
p("## Conversion (BF16 safetensors -> GGUF, one step, text + F16 vision mmproj)");
p();
p("| out type | wall time | peak RSS | files |");
p("| --- | --- | --- | --- |");
for (const t of ["q4_0", "q4_k_m"]) {
    const s = steps.get(`convert-${t}`);
    if (!s || s.rc !== 0) continue;
    const rss = /peak_rss_kib (\d+)/.exec(read(`convert-${t}.err`))?.[1];
    // The CLI's table: role, file, type, tensors, size ("5.2 GiB"), time.
    const files = [...read(`convert-${t}.out`).matchAll(/^(text|vision)\s+\S+\s+\S+\s+\d+\s+(\S+ \S+)/gm)].map((m) => `${m[1]} ${m[2]}`).join(", ");
    p(`| ${t} | ${f(s.t1 - s.t0)} s | ${rss ? `${(Number(rss) / 1024).toFixed(0)} MiB` : "-"} | ${files} |`);
}
p();
p("## autoglm bench against llama-bench (same file, settings and libraries)");
p();
const [pp, tg] = [`pp${env.GPU_CHECK_PP}`, `tg${env.GPU_CHECK_TG}`];
p(`| file | ${pp} autoglm | ${pp} llama-bench | ratio | ${tg} autoglm | ${tg} llama-bench | ratio | VRAM (autoglm) | load |`);
p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const t of ["q4_0", "q4_k_m"]) {
    const r = json(`bench-${t}`);
    if (!r) continue;
    p(
        `| ${t} | ${f(r.pp.median)} tok/s | ${f(r.llamaBench?.pp)} tok/s | ${f(r.ratio?.pp, 3)} | ${f(r.tg.median)} tok/s | ${f(r.llamaBench?.tg)} tok/s | ${f(r.ratio?.tg, 3)} | ${r.vramBytes ? `${(r.vramBytes / 2 ** 30).toFixed(2)} GiB` : "-"} | ${f(r.loadMs / 1000)} s |`,
    );
}
const settings = json("bench-q4_k_m")?.settings ?? json("bench-q4_0")?.settings;
if (settings) p(`\nsettings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(" ")}; reference: \`${json("bench-q4_k_m")?.llamaBench?.command ?? ""}\``);
const img = json("bench-q4_k_m");
if (img?.phoneStep) {
    const ps = img.phoneStep;
    p();
    p(`## Phone-agent step (\`autoglm bench --image\`, Q4_K_M): ${ps.image.width}x${ps.image.height}, ${ps.image.tokens} image tokens, ${ps.promptTokens}-token prompt`);
    p();
    p("| phase | autoglm (median) | llama-mtmd-cli |");
    p("| --- | --- | --- |");
    p(`| image decode | ${f(ps.decodeMs.median, 0)} ms | - |`);
    p(`| vision encode | ${f(ps.encodeMs.median, 0)} ms | ${f(img.llamaMtmdEncodeMs?.median, 0)} ms |`);
    p(`| prompt evaluation | ${f(ps.evaluateMs.median, 0)} ms | - |`);
    p(`| step 1 first token | ${f(ps.firstTokenMs.median, 0)} ms | - |`);
    p(`| step 2 first token (${ps.followUpCachedTokens} cached) | ${f(ps.followUpMs.median, 0)} ms | - |`);
}
if (steps.get("phone-step")?.rc === 0) {
    p();
    p("## Phone-agent step through the servers (scripts/bench-phone-step.mjs): autoglm serve against llama-server");
    p();
    p(read("phone-step.out").trim());
}
if (steps.get("agent-step")?.rc === 0) {
    p();
    p("## Agent step (scripts/bench-agent-step.mjs): in process against autoglm serve and llama-server");
    p();
    p(read("agent-step.out").trim());
}
p();
p("## Energy: board power while decoding, joules per generated token (nvidia-smi, 200 ms samples)");
p();
if (!samples.length) p("No nvidia-smi samples (no NVIDIA driver here): no power or VRAM figures.");
else {
    p(`| decode run (tg${env.GPU_CHECK_DECODE}, Q4_K_M) | tok/s | board power (busy samples) | J/token | VRAM above idle |`);
    p("| --- | --- | --- | --- | --- |");
    const a = json("energy-autoglm");
    if (a) {
        const g = gpuIn("energy-autoglm");
        p(`| autoglm bench | ${f(a.tg.median)} | ${f(g.watts)} W | ${sig(g.watts / a.tg.median)} | ${f(g.vramMiB, 0)} MiB |`);
    }
    const b = json("energy-llama-bench");
    const tg = b?.find?.((r) => r.n_gen > 0)?.avg_ts;
    if (tg) {
        const g = gpuIn("energy-llama-bench");
        p(`| llama-bench | ${f(tg)} | ${f(g.watts)} W | ${sig(g.watts / tg)} | ${f(g.vramMiB, 0)} MiB |`);
    }
    const peak = Math.max(...samples.map((s) => s.mib)) - baseline;
    p(`\nPeak VRAM above idle over the whole run: ${f(peak, 0)} MiB (idle ${f(baseline, 0)} MiB); ${samples.length} samples.`);
}
console.log(out.join("\n"));
EOF
echo "gpu-check: wrote $results" >&2
# Every step must have run and passed (a skip for the budget counts as not passed).
failed=$(awk -F'\t' 'NF < 4 && $1 !~ /^build-ts/ || NF == 4 && $2 != 0 { print $1 }' "$work/steps.tsv" | paste -sd' ' -)
[ -z "$failed" ] || { echo "gpu-check: not passed: $failed (see $results)" >&2; exit 1; }
