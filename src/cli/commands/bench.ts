// `autoglm bench`: prefill and decode speed, time to first token (fresh and follow-up), load time
// and memory; with --compare-llama-bench, llama.cpp's llama-bench on the same GGUF and settings.
// A phase line on stderr while it runs; a warning when repetitions disagree by more than 10 %.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Command } from "commander";
import { benchContextSize, runBenchmark, type BenchResult } from "../../engine/benchmark.js";
import { builtInScreenshot, runImageBenchmark, type ImageBenchResult } from "../../engine/image-benchmark.js";
import { stat, type Stat } from "../../engine/stats.js";
import { noiseWarnings } from "../noise.js";
import { UserError } from "../../core/errors.js";
import { runLlamaBench, runMtmdEncode, type ReferenceResult } from "../../engine/llama-bench.js";
import { numberOption } from "../parse.js";
import { addMediaOptions, addModelOptions, encoderFromFlags, settingsFrom, type MediaFlags, type ModelFlags } from "../model-options.js";
import { openRuntime } from "../open-engine.js";
import { formatBytes, table } from "../format.js";
import { PhaseLine } from "../progress.js";
import { withInterrupt } from "../interrupt.js";
import { setLibraryLogs } from "../../engine/library-log.js";
import { addRemoteOptions, checkRemoteFlags } from "../remote-options.js";
import { benchRemote, concurrencyList, REMOTE_ONLY, type RemoteBenchFlags } from "./bench-remote.js";

const PP_TG_EXPLAINED =
    "pp512 and tg128 are llama-bench's names: pp<N> is prompt processing (N prompt tokens evaluated in batches, tokens/s), tg<N> is text generation (N tokens decoded one at a time, tokens/s); -p and -n set N.";

/** The line under the table that says what its first two rows measure. */
function ppTgLegend(p: number, n: number): string {
    return `pp${p}: prompt processing, ${p} prompt tokens evaluated in batches; tg${n}: decoding, ${n} tokens generated one at a time (the names llama.cpp's benchmark uses)`;
}

interface BenchFlags extends ModelFlags, MediaFlags, Omit<RemoteBenchFlags, "model"> {
    nPrompt: number;
    nGen: number;
    repetitions: number;
    json?: boolean;
    compareLlamaBench?: boolean;
    image?: string | boolean;
    text?: boolean;
    verbose?: boolean;
}

const positive = (flag: string) => numberOption(flag, { integer: true, positive: true });

function imageRows(r: ImageBenchResult, fmt: (x: number, d?: number) => string, blank: string[], mtmdEncode?: Stat): string[][] {
    const row = (name: string, s: Stat) => [name, `${fmt(s.median, 0)} ms`, `${fmt(s.min, 0)}-${fmt(s.max, 0)}`, ...blank];
    // Times: the ratio is llama-mtmd-cli's time over ours (above 1: autoglm is faster), as for tok/s.
    const encodeRow =
        mtmdEncode && blank.length
            ? [
                  "  image encode (vision encoder)",
                  `${fmt(r.encodeMs.median, 0)} ms`,
                  `${fmt(r.encodeMs.min, 0)}-${fmt(r.encodeMs.max, 0)}`,
                  `${fmt(mtmdEncode.median, 0)} ms`,
                  fmt(mtmdEncode.median / r.encodeMs.median, 3),
              ]
            : row("  image encode (vision encoder)", r.encodeMs);
    const size = `${r.image.width}x${r.image.height}${r.image.sourceWidth !== r.image.width || r.image.sourceHeight !== r.image.height ? ` from ${r.image.sourceWidth}x${r.image.sourceHeight}` : ""}`;
    return [
        [`phone step: screenshot ${size}, ${r.image.tokens} image tokens, ${r.promptTokens}-token prompt`, "", "", ...blank],
        row("  image decode (file to pixels)", r.decodeMs),
        encodeRow,
        row("  prompt evaluation (text and image embeddings)", r.evaluateMs),
        row("  step 1 first token (all of the above)", r.firstTokenMs),
        row(`  step 2 first token (${r.followUpCachedTokens} tokens cached, new screenshot)`, r.followUpMs),
    ];
}

export function benchCommand(): Command {
    return addRemoteOptions(
        addMediaOptions(
            addModelOptions(
                new Command("bench").description(
                    "measure prompt processing and decode speed, time to first token, load time and memory; with --url, a remote engine under phone-agent load",
                ),
            ),
            {
                mmproj: "the vision encoder for --image (default: the one recorded with -m's model; with the demo model: its own)",
                imagePixels: true,
            },
        ),
    )
        .option("-p, --n-prompt <tokens>", "prompt tokens for prefill (llama-bench's -p)", positive("--n-prompt"), 512)
        .option("-n, --n-gen <tokens>", "tokens to decode (llama-bench's -n)", positive("--n-gen"), 128)
        .option("-r, --repetitions <count>", "repetitions (median reported)", positive("--repetitions"), 5)
        .option("--compare-llama-bench", "also run llama.cpp's llama-bench with the same settings and print the ratio")
        .option(
            "--image [file]",
            "also measure the phone-agent step: a screenshot (default: a built-in 1080x2400 one) with a system prompt of Open-AutoGLM's size, then the next step over the cached conversation",
        )
        .option("--text", "with --image: measure text prefill and decode too (without --image they always run)")
        .option(
            "--concurrency <list>",
            "with --url: phone agents at once, one load level each (default: 1,2,4 and on up to the server's slots)",
            (v: string) => concurrencyList(v),
        )
        .option(
            "--step-tokens <n>",
            "with --url: tokens of each phone step's answer (default 100; ignore_eos, so every server generates as many)",
            positive("--step-tokens"),
        )
        .option(
            "--step-budget <seconds>",
            "with --url: also say how many agents at once keep the p90 step within this many seconds",
            numberOption("--step-budget", { positive: true }),
        )
        .option("--json", "print the results as JSON")
        .option("--verbose", "show llama.cpp's and node-llama-cpp's own log lines")
        .addHelpText("after", `\n${PP_TG_EXPLAINED}`)
        .action(async (f: BenchFlags, cmd: Command) => {
            if (f.url) return benchRemote(f, cmd);
            checkRemoteFlags(cmd, f, [], REMOTE_ONLY);
            setLibraryLogs(f.verbose ? "verbose" : "quiet");
            const log = (line: string) => process.stderr.write(`${line}\n`);
            settingsFrom(f); // the flags as given are checked even though the context is sized for the run
            const o = { promptTokens: f.nPrompt, genTokens: f.nGen, repetitions: f.repetitions };
            const encoder = f.image ? await encoderFromFlags(f, "vision encoder") : {};
            if (f.image && !encoder.encoderCaps?.vision) throw new UserError("--image needs a vision encoder: give --mmproj");
            // Room for a system prompt, two screenshots and the answers besides llama-bench's prompt.
            const ctxSize = Math.max(benchContextSize(o), f.image ? 16384 : 0);
            const runtime = await openRuntime({ ...f, ctxSize }, { ...encoder, imageMaxPixels: f.imageMaxPixels }, log, {}, null); // bench decodes greedily: no sampling line
            const loaded = runtime.loaded;
            const phase = new PhaseLine();
            const onPhase = (what: string, rep: number, of: number) =>
                phase.update(`bench: ${what}${rep ? ` (repetition ${rep}/${of})` : ""}`);
            let result: BenchResult | undefined;
            let image: ImageBenchResult | undefined;
            const measureText = !f.image || Boolean(f.text); // the phone step alone unless --text asks for both
            const contextInEffect = runtime.settings;
            try {
                // Ctrl-C stops the measuring (exit 130, one line): no table of half the repetitions.
                [result, image] = await withInterrupt(async (signal) => {
                    const r = measureText ? await runBenchmark(runtime, o, onPhase, signal) : undefined;
                    if (!f.image) return [r, undefined] as const;
                    const file = typeof f.image === "string" ? f.image : undefined;
                    phase.done();
                    log(`phone-agent step: ${file ?? "a built-in 1080x2400 screenshot"}, ${f.repetitions} repetitions`);
                    return [
                        r,
                        await runImageBenchmark(
                            runtime,
                            async (step, rep) => file ?? builtInScreenshot(rep * 2 + step),
                            f.repetitions,
                            onPhase,
                            signal,
                        ),
                    ] as const;
                });
            } finally {
                phase.done();
                await runtime.dispose();
            }
            const s = result?.settings ?? contextInEffect;
            // The reference runs after autoglm's own measurement, which is kept (and printed) when it fails.
            let ref: ReferenceResult | undefined;
            let refError: string | undefined;
            if (f.compareLlamaBench && result) {
                phase.update(`bench: llama.cpp's llama-bench, same file and settings (${f.repetitions} repetitions)`);
                try {
                    // llama-bench is in the terminal's foreground group: the same Ctrl-C ends it.
                    ref = await withInterrupt(() => runLlamaBench(loaded.path, s, o, f.gpuLayers, loaded.llama.gpu));
                } catch (e) {
                    if (!(e instanceof UserError)) throw e;
                    refError = e.message;
                } finally {
                    phase.done();
                }
            }
            // The phone step's encode beside llama-mtmd-cli's own, on the same files (its other phases it does not time).
            let mtmd: { encodeMs: Stat; command: string } | undefined;
            if (f.compareLlamaBench && image && encoder.mmproj) {
                phase.update(`bench: llama.cpp's llama-mtmd-cli, the same screenshot (${f.repetitions} repetitions)`);
                const shot = typeof f.image === "string" ? f.image : join(mkdtempSync(join(tmpdir(), "autoglm-bench-")), "screenshot.png");
                try {
                    if (shot !== f.image) writeFileSync(shot, await builtInScreenshot(1));
                    const r = await withInterrupt(() =>
                        runMtmdEncode(loaded.path, encoder.mmproj!, shot, s, f.repetitions, f.gpuLayers, loaded.llama.gpu),
                    );
                    mtmd = { encodeMs: stat(r.encodeMs), command: r.command };
                } catch (e) {
                    if (!(e instanceof UserError)) throw e;
                    refError = refError ?? e.message;
                } finally {
                    phase.done();
                    if (shot !== f.image) rmSync(dirname(shot), { recursive: true, force: true });
                }
            }
            const warnings = noiseWarnings([
                ...(result
                    ? ([
                          [`pp${f.nPrompt}`, result.pp],
                          [`tg${f.nGen}`, result.tg],
                          ["time to first token", result.ttftMs],
                          ["follow-up first token", result.followUpTtftMs],
                      ] as [string, Stat][])
                    : []),
                ...(image
                    ? ([
                          ["phone step 1 first token", image.firstTokenMs],
                          ["phone step 2 first token", image.followUpMs],
                      ] as [string, Stat][])
                    : []),
                ...(mtmd ? ([["llama-mtmd-cli image encode", mtmd.encodeMs]] as [string, Stat][]) : []),
            ]);
            const inEffect = {
                backend: loaded.backend,
                devices: loaded.devices,
                threads: s.threads,
                batch: s.batchSize,
                ubatch: s.ubatchSize,
                flashAttention: s.flashAttention,
                kvCache: `${s.typeK}/${s.typeV}`,
            };
            if (f.json) {
                process.stdout.write(
                    `${JSON.stringify(
                        {
                            model: loaded.path,
                            ...result,
                            settings: inEffect,
                            ...(result ? {} : { loadMs: loaded.loadMs, peakRssBytes: process.resourceUsage().maxRSS * 1024 }),
                            contextSettings: s,
                            llamaBench: ref,
                            llamaBenchError: refError,
                            ratio: ref && result ? { pp: result.pp.median / ref.pp, tg: result.tg.median / ref.tg } : undefined,
                            phoneStep: image,
                            llamaMtmdEncodeMs: mtmd?.encodeMs,
                            warnings,
                        },
                        null,
                        2,
                    )}\n`,
                );
            } else {
                const fmt = (x: number, d = 1) => x.toFixed(d);
                const compared = Boolean(f.compareLlamaBench);
                const blank = compared ? ["", ""] : [];
                const refCells = (ours: number, theirs?: number) =>
                    compared
                        ? [theirs !== undefined ? `${fmt(theirs)} tok/s` : "-", theirs !== undefined ? fmt(ours / theirs, 3) : "-"]
                        : [];
                const textRows = (result: BenchResult) => [
                    [
                        `pp${f.nPrompt}`,
                        `${fmt(result.pp.median)} tok/s`,
                        `${fmt(result.pp.min)}-${fmt(result.pp.max)}`,
                        ...refCells(result.pp.median, ref?.pp),
                    ],
                    [
                        `tg${f.nGen}`,
                        `${fmt(result.tg.median)} tok/s`,
                        `${fmt(result.tg.min)}-${fmt(result.tg.max)}`,
                        ...refCells(result.tg.median, ref?.tg),
                    ],
                    [
                        "time to first token (16-token prompt)",
                        `${fmt(result.ttftMs.median, 2)} ms`,
                        `${fmt(result.ttftMs.min, 2)}-${fmt(result.ttftMs.max, 2)}`,
                        ...blank,
                    ],
                    [
                        `follow-up first token (after ${f.nPrompt} cached tokens)`,
                        `${fmt(result.followUpTtftMs.median, 2)} ms`,
                        `${fmt(result.followUpTtftMs.min, 2)}-${fmt(result.followUpTtftMs.max, 2)}`,
                        ...blank,
                    ],
                ];
                const rows = [
                    ...(result ? textRows(result) : []),
                    ["load time", `${fmt(loaded.loadMs, 0)} ms`, "", ...blank],
                    ["peak RAM", formatBytes(result?.peakRssBytes ?? process.resourceUsage().maxRSS * 1024), "", ...blank],
                    ...(result?.vramBytes ? [["VRAM in use", formatBytes(result.vramBytes), "", ...blank]] : []),
                    ...(image ? imageRows(image, fmt, blank, mtmd?.encodeMs) : []),
                ];
                const header = ["measure", `median of ${f.repetitions}`, "min-max", ...(compared ? ["llama-bench", "ratio"] : [])];
                process.stdout.write(
                    `settings: ${Object.entries(inEffect)
                        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") || "-" : v}`)
                        .join(" ")}\n`,
                );
                process.stdout.write(`${table(header, rows, compared ? [1, 2, 3, 4] : [1, 2])}\n`);
                if (result) process.stdout.write(`${ppTgLegend(f.nPrompt, f.nGen)}\n`);
                if (ref) process.stdout.write(`reference: ${ref.command}\n`);
                if (mtmd) process.stdout.write(`reference: ${mtmd.command}\n`);
            }
            for (const w of warnings) log(`warning: ${w}`);
            if (refError) throw new UserError(`the comparison failed (autoglm's own figures above are kept): ${refError}`);
        });
}
