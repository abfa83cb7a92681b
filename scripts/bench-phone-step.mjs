#!/usr/bin/env node
// Phone-agent step benchmark (not a test): Open-AutoGLM's request shape (a 2,400-character system
// prompt, a 1080x2400 screenshot, the task; greedy, top_p 0.85, frequency_penalty 0.2, streamed),
// first-token time of step 1, then of step 2 (the previous screenshot stripped, the answer appended
// as <think>/<answer>, a new screenshot), as the client sees them. autoglm serve against llama-server
// on the same GGUF, mmproj, threads and requests; rounds alternate between the tools.
//
//   node scripts/bench-phone-step.mjs [--model M --mmproj P] [--rounds N] [--threads N] [--gpu auto|cuda|...] [--gpu-layers N|max]
//                                     [--screenshot 1080x2400]
// Without --model it uses autoglm's demo pair (tiny GLM-4.1V layout, random weights). --gpu picks
// autoglm's backend (llama-server's is the one AUTOGLM_VARIANT builds its tools for, default the CPU);
// --gpu-layers goes to both (max: llama-server's -ngl 999).
import { availableParallelism } from "node:os";
import { flag, median, referenceTools, screenshot, sseEvents, startServers, visionPair } from "./bench-common.mjs";

const rounds = Number(flag("--rounds", "3"));
const threads = flag("--threads", String(availableParallelism()));
const gpu = flag("--gpu", "auto");
const layers = flag("--gpu-layers");
const [width, height] = flag("--screenshot", "1080x2400").split("x").map(Number);
const shot = () => screenshot(width, height);
const { model, mmproj } = await visionPair();
const tools = referenceTools();

const SYSTEM = (
    "You are a phone-operating agent. Think inside <think></think>, then give one action inside <answer></answer>: " +
    'do(action="Tap", element=[x,y]), do(action="Type", text="..."), do(action="Swipe", start=[x1,y1], end=[x2,y2]), do(action="Back"), finish(message="..."). '
)
    .repeat(12)
    .slice(0, 2400);

/** One streamed step; first-token time as the client sees it (first content or finish event). */
async function step(url, messages) {
    const sent = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", stream: true, max_tokens: 16, temperature: 0, top_p: 0.85, frequency_penalty: 0.2, messages }),
    });
    let first,
        content = "";
    await sseEvents(res, (e) => {
        const c = e.choices?.[0];
        if (c?.delta?.content || c?.finish_reason) first ??= performance.now();
        content += c?.delta?.content ?? "";
    });
    return { ttft: first - sent, content };
}

async function round(start) {
    const srv = await start();
    try {
        const task = (url) => ({
            role: "user",
            content: [
                { type: "text", text: 'Task: open the settings app.\n\n** Screen Info **\n{"current_app": "Launcher"}' },
                { type: "image_url", image_url: { url } },
            ],
        });
        await step(srv.url, [{ role: "system", content: "warm-up" }, task(await shot())]); // encoder loaded, graphs built
        const history = [{ role: "system", content: SYSTEM }, task(await shot())];
        const one = await step(srv.url, history);
        history[1] = { role: "user", content: [history[1].content[0]] };
        history.push({
            role: "assistant",
            content: `<think>${one.content.slice(0, 20)}</think><answer>do(action="Tap", element=[500,500])</answer>`,
        });
        history.push({
            role: "user",
            content: [
                { type: "text", text: '** Screen Info **\n{"current_app": "Settings"}' },
                { type: "image_url", image_url: { url: await shot() } },
            ],
        });
        const two = await step(srv.url, history);
        return { one: one.ttft, two: two.ttft };
    } finally {
        await srv.stop();
    }
}

const servers = startServers(tools, { model, mmproj, ctx: 25480, threads, layers, extra: ["--gpu", gpu] });
const ours = () => servers["autoglm serve"](18451);
const theirs = () => servers["llama-server"](18452);
const rows = { ours: [], theirs: [] };
for (let i = 0; i < rounds; i++) {
    rows.ours.push(await round(ours));
    rows.theirs.push(await round(theirs));
    process.stderr.write(
        `round ${i + 1}: step 1 ${rows.ours[i].one.toFixed(0)} vs ${rows.theirs[i].one.toFixed(0)} ms; step 2 ${rows.ours[i].two.toFixed(0)} vs ${rows.theirs[i].two.toFixed(0)} ms\n`,
    );
}
const m = (k, f) => median(rows[k].map((r) => r[f]));
console.log(
    `| phone-agent step, ${width}x${height} screenshot, ${threads} threads, ${rounds} rounds (median) | autoglm serve | llama-server | ratio |`,
);
console.log("| --- | --- | --- | --- |");
console.log(
    `| step 1 first token (system prompt + screenshot + task) | ${m("ours", "one").toFixed(0)} ms | ${m("theirs", "one").toFixed(0)} ms | ${(m("ours", "one") / m("theirs", "one")).toFixed(3)} |`,
);
console.log(
    `| step 2 first token (history reused + new screenshot) | ${m("ours", "two").toFixed(0)} ms | ${m("theirs", "two").toFixed(0)} ms | ${(m("ours", "two") / m("theirs", "two")).toFixed(3)} |`,
);
