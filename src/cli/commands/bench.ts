// `autoglm bench`: prefill and decode speed, time to first token (fresh and follow-up), load time
// and memory; with --compare-llama-bench, llama.cpp's llama-bench on the same GGUF and settings.

import { Command } from "commander";
import { benchContextSize, runBenchmark, type BenchResult } from "../../engine/benchmark.js";
import { builtInScreenshot, runImageBenchmark, type ImageBenchResult } from "../../engine/image-benchmark.js";
import type { Stat } from "../../engine/stats.js";
import { UserError } from "../../core/errors.js";
import { runLlamaBench, type ReferenceResult } from "../../engine/llama-bench.js";
import { numberOption } from "../parse.js";
import { addModelOptions, encoderFromFlags, openRuntime, settingsFrom, type ModelFlags } from "../model-options.js";
import { formatBytes, table } from "../format.js";

interface BenchFlags extends ModelFlags { p: number; n: number; r: number; json?: boolean; compareLlamaBench?: boolean; image?: string | boolean; mmproj?: string; imageMaxPixels: number }

const positive = (flag: string) => numberOption(flag, { integer: true, positive: true });

function imageRows(r: ImageBenchResult, fmt: (x: number, d?: number) => string): string[][] {
    const row = (name: string, s: Stat) => [name, `${fmt(s.median, 0)} ms`, `${fmt(s.min, 0)}-${fmt(s.max, 0)}`, "", ""];
    const size = `${r.image.width}x${r.image.height}${r.image.sourceWidth !== r.image.width || r.image.sourceHeight !== r.image.height ? ` from ${r.image.sourceWidth}x${r.image.sourceHeight}` : ""}`;
    return [
        [`phone step: screenshot ${size}, ${r.image.tokens} image tokens, ${r.promptTokens}-token prompt`, "", "", "", ""],
        row("  image decode (file to pixels)", r.decodeMs),
        row("  image encode (vision encoder)", r.encodeMs),
        row("  prompt evaluation (text and image embeddings)", r.evaluateMs),
        row("  step 1 first token (all of the above)", r.firstTokenMs),
        row(`  step 2 first token (${r.followUpCachedTokens} tokens cached, new screenshot)`, r.followUpMs),
    ];
}

export function benchCommand(): Command {
    return addModelOptions(new Command("bench")
        .description("measure prompt processing and decode speed, time to first token, load time and memory"))
        .option("-p, --p <tokens>", "prompt tokens for prefill", positive("-p"), 512)
        .option("-n, --n <tokens>", "tokens to decode", positive("-n"), 128)
        .option("-r, --r <count>", "repetitions (median reported)", positive("-r"), 5)
        .option("--compare-llama-bench", "also run llama.cpp's llama-bench with the same settings and print the ratio")
        .option("--image [file]", "also measure the phone-agent step: a screenshot (default: a built-in 1080x2400 one) with a system prompt of Open-AutoGLM's size, then the next step over the cached conversation")
        .option("--mmproj <file>", "the vision encoder for --image (default with the demo model: its own)")
        .option("--image-max-pixels <n>", "scale larger screenshots down to this many pixels, as serve does", numberOption("--image-max-pixels", { integer: true, positive: true }), 5_000_000)
        .option("--json", "print the results as JSON")
        .action(async (f: BenchFlags) => {
            const log = (line: string) => process.stderr.write(`${line}\n`);
            settingsFrom(f); // the flags as given are checked even though the context is sized for the run
            const o = { promptTokens: f.p, genTokens: f.n, repetitions: f.r };
            const encoder = f.image ? await encoderFromFlags(f, "vision encoder") : {};
            if (f.image && !encoder.encoderCaps?.vision) throw new UserError("--image needs a vision encoder: give --mmproj");
            // Room for a system prompt, two screenshots and the answers besides llama-bench's prompt.
            const ctxSize = Math.max(benchContextSize(o), f.image ? 16384 : 0);
            const runtime = await openRuntime({ ...f, ctxSize }, { ...encoder, imageMaxPixels: f.imageMaxPixels }, log, {}, null); // bench decodes greedily: no sampling line
            const loaded = runtime.loaded;
            let result: BenchResult;
            let image: ImageBenchResult | undefined;
            try {
                result = await runBenchmark(runtime, o);
                if (f.image) {
                    const file = typeof f.image === "string" ? f.image : undefined;
                    log(`phone-agent step: ${file ?? "a built-in 1080x2400 screenshot"}, ${f.r} repetitions`);
                    image = await runImageBenchmark(runtime, async (step, rep) => file ?? builtInScreenshot(rep * 2 + step), f.r);
                }
            } finally {
                await runtime.dispose();
            }
            const settings = result.settings;
            let ref: ReferenceResult | undefined;
            if (f.compareLlamaBench) ref = await runLlamaBench(loaded.path, settings, { promptTokens: f.p, genTokens: f.n, repetitions: f.r }, f.gpuLayers);
            const s = result.settings;
            const inEffect = { backend: loaded.backend, devices: loaded.devices, threads: s.threads, batch: s.batchSize, ubatch: s.ubatchSize, flashAttention: s.flashAttention, kvCache: `${s.typeK}/${s.typeV}` };
            if (f.json) {
                process.stdout.write(`${JSON.stringify({ model: loaded.path, ...result, settings: inEffect, contextSettings: result.settings, llamaBench: ref, ratio: ref ? { pp: result.pp.median / ref.pp, tg: result.tg.median / ref.tg } : undefined, phoneStep: image }, null, 2)}\n`);
                return;
            }
            const fmt = (x: number, d = 1) => x.toFixed(d);
            const rows = [
                [`pp${f.p}`, `${fmt(result.pp.median)} tok/s`, `${fmt(result.pp.min)}-${fmt(result.pp.max)}`, ref ? `${fmt(ref.pp)} tok/s` : "", ref ? fmt(result.pp.median / ref.pp, 3) : ""],
                [`tg${f.n}`, `${fmt(result.tg.median)} tok/s`, `${fmt(result.tg.min)}-${fmt(result.tg.max)}`, ref ? `${fmt(ref.tg)} tok/s` : "", ref ? fmt(result.tg.median / ref.tg, 3) : ""],
                ["time to first token (16-token prompt)", `${fmt(result.ttftMs.median, 2)} ms`, `${fmt(result.ttftMs.min, 2)}-${fmt(result.ttftMs.max, 2)}`, "", ""],
                [`follow-up first token (after ${f.p} cached tokens)`, `${fmt(result.followUpTtftMs.median, 2)} ms`, `${fmt(result.followUpTtftMs.min, 2)}-${fmt(result.followUpTtftMs.max, 2)}`, "", ""],
                ["load time", `${fmt(result.loadMs, 0)} ms`, "", "", ""],
                ["peak RAM", formatBytes(result.peakRssBytes), "", "", ""],
                ...(result.vramBytes ? [["VRAM in use", formatBytes(result.vramBytes), "", "", ""]] : []),
                ...(image ? imageRows(image, fmt) : []),
            ];
            process.stdout.write(`settings: ${Object.entries(inEffect).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") || "-" : v}`).join(" ")}\n`);
            process.stdout.write(`${table(["measure", `median of ${f.r}`, "min-max", "llama-bench", "ratio"], rows, [1, 2, 3, 4])}\n`);
            if (ref) process.stdout.write(`reference: ${ref.command}\n`);
        });
}
