#!/usr/bin/env node
// Server benchmark (not a test), as docs/benchmark-method.md describes for `autoglm serve`:
//  1. single-stream decode through HTTP (a streamed chat completion: tokens over the request's wall
//     time less the server's prompt time) as a ratio to llama-bench's tg128 on the same GGUF and threads;
//  2. aggregate tokens/s of 4 concurrent streams, `autoglm serve --parallel 4` against
//     `llama-server -np 4` (same source, same prebuilt libraries, same model, same requests).
// Rounds alternate between the tools; medians are printed as a markdown table.
//
//   node scripts/bench-serve.mjs [--model M] [--rounds N] [--tokens N] [--threads N]
// Without --model it uses the ~200M glm4 benchmark model (synthesized and converted to Q4_0 once).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { bin, flag, median, referenceTools, sseEvents, startServer } from "./bench-common.mjs";

const rounds = Number(flag("--rounds", "3"));
const tokens = Number(flag("--tokens", "128"));
const threads = flag("--threads", String(availableParallelism()));
const work = process.env.AUTOGLM_BENCH_DIR ?? "/tmp/autoglm-bench";

let model = flag("--model");
if (!model) {
    model = join(work, "glm4-bench-out/glm4-bench-Q4_0.gguf");
    if (!existsSync(model)) {
        execFileSync(process.execPath, [bin, "synthesize", "glm4", join(work, "glm4-bench"), "--shape", "bench", "--force"], {
            stdio: "inherit",
        });
        execFileSync(
            process.execPath,
            [bin, "convert", join(work, "glm4-bench"), "--outtype", "q4_0", "--out", join(work, "glm4-bench-out"), "--force"],
            { stdio: "inherit" },
        );
    }
}
const tools = referenceTools();

function llamaBenchTg() {
    const out = execFileSync(
        join(tools, "llama-bench"),
        ["-m", model, "-p", "0", "-n", String(tokens), "-t", threads, "-r", "3", "-o", "json"],
        { encoding: "utf8" },
    );
    return JSON.parse(out)[0].avg_ts;
}

/**
 * One streamed greedy completion of `tokens` tokens. Counts come from the usage chunk (random-weight
 * models often produce tokens with no printable text, so content deltas cannot be counted).
 */
async function stream(url, prompt) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
            model: "bench",
            stream: true,
            stream_options: { include_usage: true },
            max_tokens: tokens,
            ignore_eos: true,
            temperature: 0,
            messages: [{ role: "user", content: prompt }],
        }),
    });
    let usage, timings;
    await sseEvents(res, (d) => {
        usage = d.usage ?? usage;
        timings = d.timings ?? timings;
    });
    const wallMs = performance.now() - started;
    if (!usage || !timings) throw new Error(`${url}: no usage or timings in the stream`);
    return { tokens: usage.completion_tokens, wallMs, promptMs: timings.prompt_ms };
}

const PROMPTS = ["Tell me about the sea.", "Explain how a phone agent works.", "List some colours.", "Describe a city at night."];
const ours = (port, parallel) =>
    startServer(
        process.execPath,
        [bin, "serve", "-m", model, "--port", String(port), "--parallel", String(parallel), "-c", "4096", "-t", threads],
        port,
    ); // the context llama-server gets, per slot
const theirs = (port, parallel) =>
    startServer(
        join(tools, "llama-server"),
        [
            "-m",
            model,
            "--port",
            String(port),
            "-np",
            String(parallel),
            "-c",
            String(4096 * parallel),
            "-t",
            threads,
            "-b",
            "512",
            "-ub",
            "512",
        ],
        port,
    );

async function single(start) {
    const s = await start(18431, 1);
    try {
        await stream(s.url, PROMPTS[0]); // warm-up
        const r = await stream(s.url, PROMPTS[0]);
        // Decode rate seen by the client: the whole request's wall time less the prompt's evaluation.
        return (r.tokens * 1000) / (r.wallMs - r.promptMs);
    } finally {
        await s.stop();
    }
}

async function aggregate(start) {
    const s = await start(18432, 4);
    try {
        await Promise.all(PROMPTS.map((p) => stream(s.url, p))); // warm-up
        const t = performance.now();
        const rs = await Promise.all(PROMPTS.map((p) => stream(s.url, p)));
        return (rs.reduce((n, r) => n + r.tokens, 0) * 1000) / (performance.now() - t);
    } finally {
        await s.stop();
    }
}

const rows = { single: [], bench: [], aggOurs: [], aggTheirs: [] };
for (let i = 0; i < rounds; i++) {
    rows.single.push(await single(ours));
    rows.bench.push(llamaBenchTg());
    rows.aggOurs.push(await aggregate(ours));
    rows.aggTheirs.push(await aggregate(theirs));
    process.stderr.write(
        `round ${i + 1}: single ${rows.single[i].toFixed(1)} vs llama-bench ${rows.bench[i].toFixed(1)}; 4 streams ${rows.aggOurs[i].toFixed(1)} vs llama-server ${rows.aggTheirs[i].toFixed(1)} tok/s\n`,
    );
}
const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
console.log(
    `| ${model.split("/").pop()}, ${threads} threads, ${tokens} tokens, ${rounds} rounds (median) | autoglm tok/s | reference tok/s | ratio |`,
);
console.log("| --- | --- | --- | --- |");
console.log(
    `| one stream through HTTP vs llama-bench tg${tokens} | ${m.single.toFixed(1)} | ${m.bench.toFixed(1)} | ${(m.single / m.bench).toFixed(3)} |`,
);
console.log(
    `| 4 concurrent streams vs llama-server -np 4 | ${m.aggOurs.toFixed(1)} | ${m.aggTheirs.toFixed(1)} | ${(m.aggOurs / m.aggTheirs).toFixed(3)} |`,
);
