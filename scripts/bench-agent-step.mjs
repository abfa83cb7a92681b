#!/usr/bin/env node
// Phone-agent step benchmark (not a test): two steps of `autoglm agent` as the model sees them
// (Open-AutoGLM's real system prompt with its date line, its history: the newest screenshot only,
// earlier user turns as text, the answer rebuilt as <think>/<answer>; temperature 0, top_p 0.85,
// frequency_penalty 0.2) with a 1080x2400 screenshot each step, three ways:
//   in process   the agent's own path: the Runtime's turn, no HTTP, the session's cache kept
//   autoglm serve / llama-server   the same messages as Open-AutoGLM's client sends them (streamed
//                chat completions, the PNG as a base64 data: URL), through autoglm's --url engine
// Same GGUF, mmproj, threads, context and a fixed answer length (--tokens, end-of-generation ignored)
// so every engine does the same work. Rounds alternate between the three; each round starts the
// engine afresh and warms it with one small request. Step time is the whole turn as the agent waits
// for it, after the screenshot; between the steps, the action's 1 s wait, during which the agent in
// process evaluates the history the next step starts with (TurnSession.prefill). The breakdown
// (encode / prefill / decode) is the in-process engine's own.
//
//   node scripts/bench-agent-step.mjs [--model M --mmproj P] [--rounds N] [--threads N] [--tokens N] [--json FILE]
//                                     [--gpu auto|cuda|...] [--gpu-layers N|max] [--screenshot 1080x2400]
// --gpu picks autoglm's backend (llama-server's is the one AUTOGLM_VARIANT builds its tools for,
// default the CPU); --gpu-layers goes to all three (max: llama-server's -ngl 999).
// Without --model: autoglm's demo pair (tiny GLM-4.1V layout, random weights).
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { flag, median, referenceTools, root, screenshot, startServers, visionPair } from "./bench-common.mjs";

const dist = (p) => import(join(root, "dist", p));
const { systemPrompt } = await dist("src/agent/prompts.js");
const { History, userText } = await dist("src/agent/history.js");
const { AGENT_SAMPLING } = await dist("src/agent/sampling.js");
const { openLocalEngine } = await dist("src/engine/local-engine.js");
const { readMmproj } = await dist("src/engine/encoders.js");
const { RemoteEngine } = await dist("src/remote/remote-engine.js");

const rounds = Number(flag("--rounds", "3"));
const threads = Number(flag("--threads", String(availableParallelism())));
const tokens = Number(flag("--tokens", "96"));
const ctx = 16384;
const ACTION_MS = 1000;
const gpu = flag("--gpu", "auto");
const layers = flag("--gpu-layers");
const [width, height] = flag("--screenshot", "1080x2400").split("x").map(Number);
/** A new screenshot-like PNG each call (no engine answers from a cached image). */
const shot = async () => Buffer.from((await screenshot(width, height)).split(",")[1], "base64");
const { model, mmproj } = await visionPair();
const tools = referenceTools();
const prompt = systemPrompt("cn", new Date(2026, 11, 6));

/** Two agent steps on `engine`; the whole-turn time of each, and the in-process breakdown. */
async function twoSteps(engine) {
    // Warm-up: the encoder loaded, the graphs built (another image, another prompt).
    await engine.turn({
        messages: [
            {
                role: "user",
                content: [
                    { type: "image", source: { bytes: await shot() } },
                    { type: "text", text: "hi" },
                ],
            },
        ],
        maxTokens: 1,
        sampling: { temperature: 0 },
    });
    // The agent's session: a local engine pins its one slot to it (the warm-up above could not wait for it).
    const session = await engine.openSession();
    try {
        const history = new History(prompt);
        const out = [];
        for (const [i, app] of [
            [1, "System Home"],
            [2, "Settings"],
        ]) {
            const text = userText(app, i === 1 ? "打开设置" : undefined);
            const png = await shot();
            const t0 = performance.now();
            const r = await engine.turn({
                messages: history.request(png, text),
                sampling: AGENT_SAMPLING,
                maxTokens: tokens,
                ignoreEos: true,
                splitThinking: false,
                session,
            });
            const ms = performance.now() - t0;
            if (r.usage.completionTokens !== tokens)
                throw new Error(`${engine.info.where}: ${r.usage.completionTokens} tokens, not ${tokens}`);
            out.push({
                ms,
                first: r.timings.firstTokenMs,
                encode: r.timings.encodeMs,
                prefill: r.timings.promptMs,
                decode: r.timings.decodeMs,
                prompt: r.usage.promptTokens,
                cached: r.usage.cachedTokens,
            });
            history.commit(text, r.content, 'do(action="Tap", element=[500,500])');
            // The action and its wait (Open-AutoGLM's 1 s after a tap): the agent prefills the
            // history meanwhile where the engine can (in process); a server sits idle.
            const ahead = session.prefill?.([...history.messages]);
            await new Promise((resolve) => setTimeout(resolve, ACTION_MS));
            await ahead;
        }
        return out;
    } finally {
        session.close();
    }
}

const engines = {
    "in process": async () => {
        const engine = await openLocalEngine({
            model,
            mmproj,
            encoderCaps: await readMmproj(mmproj, "vision encoder"),
            context: { contextSize: ctx, threads },
            load: { gpu, ...(layers ? { gpuLayers: layers === "max" ? "max" : Number(layers) } : {}) },
        });
        return { engine, stop: () => engine.dispose() };
    },
    ...Object.fromEntries(
        Object.entries(startServers(tools, { model, mmproj, ctx, threads, layers, extra: ["--gpu", gpu] })).map(([name, start], k) => [
            name,
            async () => {
                const srv = await start(18461 + k);
                const engine = await RemoteEngine.open({ url: srv.url });
                return { engine, stop: () => engine.dispose().then(() => srv.stop()) };
            },
        ]),
    ),
};

const rows = Object.fromEntries(Object.keys(engines).map((k) => [k, []]));
for (let i = 0; i < rounds; i++) {
    for (const [name, start] of Object.entries(engines)) {
        const { engine, stop } = await start();
        try {
            rows[name].push(await twoSteps(engine));
        } finally {
            await stop();
        }
        const [a, b] = rows[name][i];
        process.stderr.write(`round ${i + 1} ${name}: step 1 ${a.ms.toFixed(0)} ms, step 2 ${b.ms.toFixed(0)} ms\n`);
    }
}

const med = (name, step, key) => median(rows[name].map((r) => r[step][key]));
const f0 = (x) => x.toFixed(0);
const lines = [
    `| agent step (${width}x${height} screenshot, ${tokens} answer tokens), ${threads} threads, ${rounds} rounds, median ms | in process | autoglm serve | llama-server | in process / llama-server | autoglm serve / llama-server |`,
    "|---|---|---|---|---|---|",
];
for (const [step, label] of [
    [0, "step 1 (system prompt + screenshot)"],
    [1, "step 2 (history cached + new screenshot)"],
]) {
    const [a, b, c] = Object.keys(engines).map((n) => med(n, step, "ms"));
    lines.push(`| ${label} | ${f0(a)} | ${f0(b)} | ${f0(c)} | ${(a / c).toFixed(3)} | ${(b / c).toFixed(3)} |`);
}
for (const [step, label] of [
    [0, "step 1"],
    [1, "step 2"],
])
    lines.push(
        `\nin process, ${label}: encode ${f0(med("in process", step, "encode"))} ms, prefill ${f0(med("in process", step, "prefill"))} ms (${med("in process", step, "prompt")} prompt tokens, ${med("in process", step, "cached")} cached), decode ${f0(med("in process", step, "decode"))} ms`,
    );
console.log(lines.join("\n"));
const json = flag("--json");
if (json) writeFileSync(json, `${JSON.stringify({ model, mmproj, threads, tokens, rounds, rows }, null, 2)}\n`);
