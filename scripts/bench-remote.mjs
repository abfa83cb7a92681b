#!/usr/bin/env node
// `autoglm bench --url` against autoglm serve --parallel 4 and against llama-server -np 4 (not a
// test): the same GGUF and mmproj, threads, context per slot and bench flags; rounds alternate
// between the servers, each started fresh for its run. Prints one table row per server and round
// (text figures, then the phone-agent levels), with the machine's load average before each run.
//
//   node scripts/bench-remote.mjs [--model M --mmproj P] [--rounds 2] [--threads N] [--ngl 99]
//        [--concurrency 1,2,4] [--repetitions 3] [--step-tokens 100] [--ctx 25480]
// Without --model it uses autoglm's demo pair (tiny GLM-4.1V layout, random weights).
// On an NVIDIA machine: AUTOGLM_VARIANT=linux-x64-cuda for the tools, and --ngl 99.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { availableParallelism, loadavg } from "node:os";
import { bin, flag, referenceTools, startServers, visionPair } from "./bench-common.mjs";

const rounds = Number(flag("--rounds", "2"));
const threads = flag("--threads", String(availableParallelism()));
const ngl = flag("--ngl");
const concurrency = flag("--concurrency", "1,2,4");
const repetitions = flag("--repetitions", "3");
const stepTokens = flag("--step-tokens", "100");
const ctx = Number(flag("--ctx", "25480")); // per slot, as Open-AutoGLM's vLLM --max-model-len
const { model, mmproj } = await visionPair();
const tools = referenceTools();

const servers = startServers(tools, { model, mmproj, ctx, threads, slots: 4, layers: ngl });
const ports = { "autoglm serve": 18461, "llama-server": 18462 };

/** The bench's JSON (asynchronously: the servers' logs keep draining while it runs). */
async function bench(url) {
    const { stdout } = await promisify(execFile)(
        process.execPath,
        [bin, "bench", "--url", url, "-r", repetitions, "--concurrency", concurrency, "--step-tokens", stepTokens, "--json"],
        { encoding: "utf8", maxBuffer: 1 << 26 },
    );
    return JSON.parse(stdout);
}

const s = (ms) => (ms / 1000).toFixed(2);
console.log(
    `| round | server | load avg (1 min) | pp512 tok/s | tg128 tok/s | first token ms | follow-up ms | ${concurrency
        .split(",")
        .map((c) => `${c} agents: step p50 / p90 s, steps/min`)
        .join(" | ")} |`,
);
console.log(`|${" --- |".repeat(7 + concurrency.split(",").length)}`);
for (let r = 1; r <= rounds; r++) {
    for (const [name, start] of Object.entries(servers)) {
        const load = loadavg()[0].toFixed(2);
        const srv = await start(ports[name]);
        let j;
        try {
            j = await bench(srv.url);
        } finally {
            await srv.stop();
        }
        const levels = j.phoneAgents.levels.map((l) => `${s(l.stepMs.p50)} / ${s(l.stepMs.p90)}, ${l.stepsPerMinute.toFixed(1)}`);
        console.log(
            `| ${r} | ${name} | ${load} | ${j.pp.median.toFixed(0)} | ${j.tg.median.toFixed(0)} | ${j.ttftMs.median.toFixed(0)} | ${j.followUpTtftMs.median.toFixed(0)} | ${levels.join(" | ")} |`,
        );
    }
}
