#!/usr/bin/env node
// Media benchmark (not a test): image encode + prefill of a 1080x2400 screenshot-sized image, and
// audio encode per second of audio, autoglm next to llama.cpp's llama-mtmd-cli (same source, same
// prebuilt libraries, same GGUF and mmproj files, same thread count), run alternately.
//
//   node scripts/bench-media.mjs [--model M --mmproj P] [--asr-model M --asr-mmproj P] [--runs N]
//
// Without models it uses autoglm's demo pairs (tiny GLM-4.1V, tiny GLM-ASR with their real-shape
// preprocessing). Each tool runs as a whole process, so the media's own cost is isolated as a
// difference: (run with the big input) - (run with a minimal input: a 28x28 image, a 30 s clip),
// both with one generated token. Load, start-up and text prompt cancel out. Prints a markdown table.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const flag = (name, d) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : d;
};
const runs = Number(flag("--runs", "3"));
const { defaultModel, defaultAsrModel } = await import(join(root, "dist/models/default-model.js"));
const demo = flag("--model") ? undefined : await defaultModel();
const vision = { model: flag("--model", demo?.text), mmproj: flag("--mmproj", demo?.vision) };
const demoAsr = flag("--asr-model") ? undefined : await defaultAsrModel();
const speech = { model: flag("--asr-model", demoAsr?.text), mmproj: flag("--asr-mmproj", demoAsr?.audio) };
const tools = execFileSync("bash", [join(root, "scripts/build-llama-tools.sh")], { encoding: "utf8" })
    .trim()
    .split("\n")
    .pop();
const threads = String(Number(flag("--threads", String((await import("node:os")).availableParallelism()))));

const dir = mkdtempSync(join(tmpdir(), "autoglm-bench-media-"));
async function png(path, width, height) {
    // A screenshot-like picture: bands and gradients, not noise (PNG size and decode cost like a real one).
    const rgb = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
            const i = (y * width + x) * 3,
                band = Math.floor(y / 120) % 3;
            rgb[i] = band === 0 ? 240 : (x * 255) / width;
            rgb[i + 1] = band === 1 ? 250 : (y * 255) / height;
            rgb[i + 2] = band === 2 ? 245 : 128;
        }
    await sharp(rgb, { raw: { width, height, channels: 3 } })
        .png()
        .toFile(path);
    return path;
}
function wav(path, seconds) {
    const rate = 16000,
        n = seconds * rate,
        b = Buffer.alloc(44 + n * 2);
    b.write("RIFF", 0);
    b.writeUInt32LE(36 + n * 2, 4);
    b.write("WAVE", 8);
    b.write("fmt ", 12);
    b.writeUInt32LE(16, 16);
    b.writeUInt16LE(1, 20);
    b.writeUInt16LE(1, 22);
    b.writeUInt32LE(rate, 24);
    b.writeUInt32LE(rate * 2, 28);
    b.writeUInt16LE(2, 32);
    b.writeUInt16LE(16, 34);
    b.write("data", 36);
    b.writeUInt32LE(n * 2, 40);
    for (let i = 0; i < n; i++)
        b.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * (300 + (i % 16000) / 40) * i) / rate)), 44 + 2 * i);
    writeFileSync(path, b);
    return path;
}

/** Wall seconds of one process run. */
function timed(cmd, argv) {
    const t = performance.now();
    const r = spawnSync(cmd, argv, { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed:\n${r.stderr.slice(-2000)}`);
    return (performance.now() - t) / 1000;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median media cost (big - small) for both tools, runs alternating between them. */
function compare(ours, theirs) {
    const o = [],
        t = [];
    for (let i = 0; i < runs; i++) {
        o.push(timed(process.execPath, ours("big")) - timed(process.execPath, ours("small")));
        t.push(timed(join(tools, "llama-mtmd-cli"), theirs("big")) - timed(join(tools, "llama-mtmd-cli"), theirs("small")));
    }
    return { ours: median(o), theirs: median(t) };
}

const bin = join(root, "bin/autoglm.js");
const rows = [];
if (vision.model && vision.mmproj) {
    const img = { big: await png(join(dir, "screen-1080x2400.png"), 1080, 2400), small: await png(join(dir, "dot-28x28.png"), 28, 28) };
    const r = compare(
        (k) => [
            bin,
            "describe",
            img[k],
            "-m",
            vision.model,
            "--mmproj",
            vision.mmproj,
            "-n",
            "1",
            "-t",
            threads,
            "-p",
            "What is on the screen?",
        ],
        (k) => [
            "-m",
            vision.model,
            "--mmproj",
            vision.mmproj,
            "--image",
            img[k],
            "-p",
            "What is on the screen?",
            "-n",
            "1",
            "--temp",
            "0",
            "-t",
            threads,
            "--jinja",
        ],
    );
    rows.push(["image 1080x2400: decode, preprocess, encode, prefill", r.ours, r.theirs]);
}
if (speech.model && speech.mmproj) {
    // GLM-ASR encodes 30 s windows: a 60 s clip costs one more window than a 30 s one.
    const clip = { big: wav(join(dir, "speech-60s.wav"), 60), small: wav(join(dir, "speech-30s.wav"), 30) };
    const q = "Please transcribe this audio into text";
    const r = compare(
        (k) => [bin, "transcribe-and-answer", clip[k], "-m", speech.model, "--mmproj", speech.mmproj, "-q", q, "-n", "1", "-t", threads],
        (k) => [
            "-m",
            speech.model,
            "--mmproj",
            speech.mmproj,
            "--audio",
            clip[k],
            "-p",
            q,
            "-n",
            "1",
            "--temp",
            "0",
            "-t",
            threads,
            "--jinja",
        ],
    );
    rows.push(["audio: 30 s more (per second of audio)", r.ours / 30, r.theirs / 30]);
}
console.log(`| media work (${runs} runs, median, ${threads} threads) | autoglm s | llama-mtmd-cli s | ratio (llama-mtmd-cli / autoglm) |`);
console.log("| --- | --- | --- | --- |");
for (const [what, o, t] of rows) console.log(`| ${what} | ${o.toFixed(3)} | ${t.toFixed(3)} | ${(t / o).toFixed(3)} |`);
