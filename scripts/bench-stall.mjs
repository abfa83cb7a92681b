#!/usr/bin/env node
// Stall benchmark (not a test): while three greedy streams decode, a fourth request with a
// 1080x2400 screenshot (3,354 GLM-4.1V image tokens) joins. Reported per tool: the running streams'
// longest gap between two SSE events during the screenshot request's first-token time, divided by
// that first-token time (client-side, from send to the first answer event): 1.0 means the streams
// stood still for the whole prefill. A stream that sends nothing after the screenshot's first token
// (the demo model's text gone invisible) is left out and counted. autoglm serve --parallel 4 against llama-server -np 4 with the
// same GGUF, mmproj, threads and requests; rounds alternate between the tools.
//
//   node scripts/bench-stall.mjs [--model M --mmproj P] [--rounds N] [--threads N]
// Without --model it uses autoglm's demo pair (tiny GLM-4.1V layout, random weights).
import { availableParallelism } from "node:os";
import { flag, median, referenceTools, screenshot, sleep, sseEvents, startServers, visionPair } from "./bench-common.mjs";

const rounds = Number(flag("--rounds", "3"));
const threads = flag("--threads", String(availableParallelism()));
const { model, mmproj } = await visionPair();
const tools = referenceTools();

/** A streamed request; `events` collects the arrival time of every answer event (content or reasoning). */
function stream(url, body) {
    const abort = new AbortController();
    const s = { events: [], first: undefined, sent: performance.now(), done: undefined };
    s.done = (async () => {
        const res = await fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "m", stream: true, temperature: 0, ...body }),
            signal: abort.signal,
        });
        await sseEvents(res, (e) => {
            const c = e.choices?.[0];
            if (c?.delta?.content || c?.delta?.reasoning_content || c?.finish_reason) {
                const t = performance.now();
                s.events.push(t);
                s.first ??= t;
            }
        });
    })().catch((e) => {
        if (e.name !== "AbortError") throw e;
    });
    s.abort = () => abort.abort();
    return s;
}

async function round(start) {
    const srv = await start();
    try {
        const talk = (i) => ({ messages: [{ role: "user", content: `Talk forever, stream ${i}.` }], max_tokens: 6000, ignore_eos: true });
        const shot = async () => ({
            messages: [
                {
                    role: "user",
                    content: [
                        { type: "image_url", image_url: { url: await screenshot() } },
                        { type: "text", text: "What is on the screen?" },
                    ],
                },
            ],
            max_tokens: 4,
        });
        const w = stream(srv.url, await shot());
        await w.done; // warm-up: encoder loaded, graphs built
        const joiningBody = await shot();
        const streams = [0, 1, 2].map((i) => stream(srv.url, talk(i)));
        // Talking (20 events each), or 15 s: a stream silent from the start is left out like any other.
        const talkBy = performance.now() + 15_000;
        while (!streams.every((s) => s.events.length >= 20) && performance.now() < talkBy) await sleep(10);
        const joining = stream(srv.url, joiningBody);
        await joining.done;
        const from = joining.sent,
            to = joining.first;
        // A stream of the random-weight demo model can turn invisible for good: it samples control
        // tokens, which render as no text, so no event arrives however fast it decodes. Such a stream
        // shows no gap of its own, only silence: it is left out (and counted) when it sends nothing
        // in the 3 s after the screenshot's first token, while the others keep talking.
        const until = performance.now() + 3000;
        while (performance.now() < until && !streams.every((s) => s.events.some((t) => t > to))) await sleep(10);
        for (const s of streams) s.abort();
        await Promise.all(streams.map((s) => s.done));
        const talking = streams.filter((s) => s.events.some((t) => t > to));
        let gap = 0;
        for (const s of talking) {
            const ts = [from, ...s.events.filter((t) => t > from && t < to), to];
            for (let i = 1; i < ts.length; i++) gap = Math.max(gap, ts[i] - ts[i - 1]);
        }
        return { ttft: to - from, gap, ratio: gap / (to - from), silent: streams.length - talking.length };
    } finally {
        await srv.stop();
    }
}

const servers = startServers(tools, { model, mmproj, ctx: 8192, threads, slots: 4 });
const ours = () => servers["autoglm serve"](18441);
const theirs = () => servers["llama-server"](18442);
const rows = { ours: [], theirs: [] };
for (let i = 0; i < rounds; i++) {
    rows.ours.push(await round(ours));
    rows.theirs.push(await round(theirs));
    const f = (r) =>
        `gap ${r.gap.toFixed(0)} ms / first token ${r.ttft.toFixed(0)} ms = ${r.ratio.toFixed(3)}${r.silent ? ` (${r.silent} silent stream(s) left out)` : ""}`;
    process.stderr.write(`round ${i + 1}: autoglm ${f(rows.ours[i])}; llama-server ${f(rows.theirs[i])}\n`);
}
const med = (k, f) => median(rows[k].map((r) => r[f]));
console.log(
    `| 3 streams + a 1080x2400 screenshot joining, ${threads} threads, ${rounds} rounds (median) | longest stream gap ms | screenshot first token ms | stall ratio |`,
);
console.log("| --- | --- | --- | --- |");
console.log(
    `| autoglm serve --parallel 4 | ${med("ours", "gap").toFixed(0)} | ${med("ours", "ttft").toFixed(0)} | ${med("ours", "ratio").toFixed(3)} |`,
);
console.log(
    `| llama-server -np 4 | ${med("theirs", "gap").toFixed(0)} | ${med("theirs", "ttft").toFixed(0)} | ${med("theirs", "ratio").toFixed(3)} |`,
);
