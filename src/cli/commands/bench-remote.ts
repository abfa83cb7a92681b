// `autoglm bench --url`: a remote engine measured through its API (src/remote/bench.ts), printed as the
// local bench prints (the same names and JSON keys where the figures mean the same), plus the
// phone-agent load table: per concurrency level, step latency percentiles and steps per minute.

import type { Command } from "commander";
import { UserError } from "../../core/errors.js";
import { builtInScreenshot } from "../../engine/image-benchmark.js";
import type { Stat } from "../../engine/stats.js";
import type { AgentLoad, TextBenchResult } from "../../remote/bench.js";
import { table } from "../format.js";
import { withInterrupt } from "../interrupt.js";
import { PhaseLine } from "../progress.js";
import { checkRemoteFlags, LOCAL_MODEL_FLAGS, openRemote, type RemoteFlags } from "../remote-options.js";
import { noiseWarnings } from "../noise.js";
import { readFile } from "node:fs/promises";

export interface RemoteBenchFlags extends RemoteFlags {
    nPrompt: number;
    nGen: number;
    repetitions: number;
    concurrency?: number[];
    stepTokens?: number;
    stepBudget?: number;
    image?: string | boolean;
    json?: boolean;
}

/** With --url, bench also refuses --compare-llama-bench (there is no local GGUF to give llama-bench); without it, these. */
export const LOCAL_ONLY = [...LOCAL_MODEL_FLAGS, "compareLlamaBench"];
export const REMOTE_ONLY = ["apiKey", "concurrency", "stepTokens", "stepBudget"];

/** 1, 2, 4... up to the server's slots (at least 4): where a server's throughput levels off. */
export function defaultConcurrency(slots: number | undefined): number[] {
    const top = Math.max(4, slots ?? 0);
    const out: number[] = [];
    for (let c = 1; c <= top; c *= 2) out.push(c);
    return out;
}

/** "1,2,4": positive integers, each at most 256. */
export function concurrencyList(value: string): number[] {
    const list = value.split(",").map((s) => s.trim());
    const n = list.map(Number);
    if (!list.length || n.some((x, i) => list[i] === "" || !Number.isInteger(x) || x < 1 || x > 256))
        throw new UserError(`--concurrency takes agents at once as a list such as 1,2,4 (each 1 to 256), got ${JSON.stringify(value)}`);
    return n;
}

export async function benchRemote(f: RemoteBenchFlags, cmd: Command): Promise<void> {
    checkRemoteFlags(cmd, f, LOCAL_ONLY, []);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const engine = await openRemote(f, cmd, log);
    const concurrency = f.concurrency ?? defaultConcurrency(engine.capabilities.slots);
    const stepTokens = f.stepTokens ?? 100;
    const file = typeof f.image === "string" ? f.image : undefined;
    const shot = file ? await readFile(file) : undefined;
    const phase = new PhaseLine();
    const onPhase = (what: string, rep: number, of: number) => phase.update(`bench: ${what}${rep ? ` (repetition ${rep}/${of})` : ""}`);
    let text: TextBenchResult;
    let load: AgentLoad | undefined;
    const { runAgentLoad, runTextBenchmark } = await import("../../remote/bench.js");
    try {
        // Ctrl-C cancels the requests in flight (the server sees them go): exit 130, no table of half a run.
        [text, load] = await withInterrupt(async (signal) => {
            const t = await runTextBenchmark(
                engine,
                { promptTokens: f.nPrompt, genTokens: f.nGen, repetitions: f.repetitions },
                onPhase,
                signal,
            );
            if (engine.capabilities.vision === false) {
                if (f.image || f.concurrency)
                    throw new UserError(
                        `${engine.name} takes no images (its ${engine.capabilities.source} says so): no phone-agent step to measure`,
                    );
                phase.done();
                log(`phone-agent step: not measured, ${engine.name} takes no images`);
                return [t, undefined] as const;
            }
            const l = await runAgentLoad(
                engine,
                {
                    repetitions: f.repetitions,
                    concurrency,
                    stepTokens,
                    screenshot: async (n) => shot ?? builtInScreenshot(n),
                },
                onPhase,
                signal,
            );
            return [t, l] as const;
        });
    } finally {
        phase.done();
        await engine.dispose();
    }
    const c = engine.capabilities;
    const levels = load?.levels ?? [];
    const within = f.stepBudget !== undefined ? levels.filter((l) => l.stepMs.p90 <= f.stepBudget! * 1000).pop() : undefined;
    const warnings = noiseWarnings([
        [`pp${f.nPrompt}`, text.pp],
        [`tg${f.nGen}`, text.tg],
        ["time to first token", text.ttftMs],
        ["follow-up first token", text.followUpTtftMs],
    ]);
    if (f.json) {
        process.stdout.write(
            `${JSON.stringify(
                {
                    model: c.model,
                    url: engine.info.where,
                    ...text,
                    settings: {
                        url: engine.info.where,
                        server: c.server || undefined,
                        contextTokens: c.contextTokens,
                        vision: c.vision,
                        audio: c.audio,
                        slots: c.slots,
                    },
                    phoneAgents: load && {
                        screenshot: file ?? "built-in 1080x2400",
                        systemPrompt: "Open-AutoGLM prompts_zh.py",
                        stepTokens,
                        levels,
                        failure: load.failure,
                        stepBudgetSeconds: f.stepBudget,
                        concurrencyWithinBudget: f.stepBudget !== undefined ? (within?.concurrency ?? 0) : undefined,
                    },
                    warnings,
                },
                null,
                2,
            )}\n`,
        );
    } else {
        const fmt = (x: number, d = 1) => x.toFixed(d);
        const row = (name: string, s: Stat, unit: string, d: number) => [
            name,
            `${fmt(s.median, d)} ${unit}`,
            `${fmt(s.min, d)}-${fmt(s.max, d)}`,
        ];
        process.stdout.write(
            `${table(
                ["measure (as the client sees it)", `median of ${f.repetitions}`, "min-max"],
                [
                    row(`pp${f.nPrompt} (${text.promptTokens} prompt tokens / first-token time)`, text.pp, "tok/s", 1),
                    row(`tg${f.nGen}`, text.tg, "tok/s", 1),
                    row("time to first token (short prompt)", text.ttftMs, "ms", 1),
                    row(`follow-up first token (${text.followUpCachedTokens} tokens cached)`, text.followUpTtftMs, "ms", 1),
                ],
                [1, 2],
            )}\n`,
        );
        if (load) {
            process.stdout.write(
                `\nphone-agent steps: ${file ?? "1080x2400 screenshots"}, Open-AutoGLM's system prompt, ${stepTokens}-token answers, ${f.repetitions} steps per agent\n`,
            );
            const ms = (x: number) => `${fmt(x / 1000, 2)} s`;
            process.stdout.write(
                `${table(
                    ["agents at once", "steps", "step p50", "step p90", "step max", "first token p50", "steps/min"],
                    levels.map((l) => [
                        String(l.concurrency),
                        String(l.steps),
                        ms(l.stepMs.p50),
                        ms(l.stepMs.p90),
                        ms(l.stepMs.max),
                        ms(l.firstTokenMs.p50),
                        fmt(l.stepsPerMinute, 1),
                    ]),
                    [0, 1, 2, 3, 4, 5, 6],
                )}\n`,
            );
            if (f.stepBudget !== undefined)
                process.stdout.write(
                    within
                        ? `up to ${within.concurrency} agents at once keep the p90 step within ${f.stepBudget} s (${fmt(within.stepsPerMinute, 1)} steps/min)\n`
                        : `no level measured keeps the p90 step within ${f.stepBudget} s\n`,
                );
        }
    }
    for (const w of warnings) log(`warning: ${w}`);
    if (load?.failure) throw new UserError(`at ${load.failure.concurrency} agents at once: ${load.failure.message}`);
}
