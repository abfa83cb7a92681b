// Tears down Node environments that hold the native addon with jobs in flight (test/native-teardown.test.ts).
// Main thread: runs one worker per mode, then a generation of its own, printing one JSON line per event;
// exit 0 means the process survived every teardown. Worker: loads the model, an mmproj and a context
// of four sequences, starts three endless streams and a screenshot job, reports "running" once tokens
// flow, then (by mode) waits to be terminated, calls process.exit() itself, or finishes a short run.
//
//   node teardown-run.mjs <model.gguf> <mmproj.gguf> <addon.node>
import { createRequire } from "node:module";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { getLlama } from "node-llama-cpp";

/** Loads the model and the addon, makes a context and an encoder; `gen(opts)` submits a job. */
async function open(modelPath, mmprojPath, addonPath) {
    const llama = await getLlama({ gpu: false, build: "never", progressLogs: false, logLevel: "error" });
    const model = await llama.loadModel({ modelPath });
    const addon = createRequire(import.meta.url)(addonPath);
    const ctx = new addon.NativeContext(model._model, { contextSize: 4 * 8192, sequences: 4, threads: 2 });
    const media = new addon.NativeMedia(model._model, mmprojPath, { threads: 2, useGpu: false });
    const text = Int32Array.from(model.tokenize("stream 0: tell a long story"));
    return { llama, model, ctx, media, text };
}

/** A screenshot-sized image prompt, tokenized by libmtmd. */
function screenshotPrompt(media) {
    const width = 1080,
        height = 2400;
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 31) & 255;
    const chunks = media.tokenize(`${media.info().marker}What is on the screen?`, [{ id: "teardown-shot", width, height, rgb }]);
    return chunks.map((c) => (c.type === "text" ? c.tokens : c.chunk));
}

async function worker() {
    const { modelPath, mmprojPath, addonPath, mode } = workerData;
    const { ctx, media, text } = await open(modelPath, mmprojPath, addonPath);
    let tokens = 0;
    let reported = false;
    const onToken = () => {
        tokens++;
        if (tokens >= 24 && !reported) {
            reported = true;
            parentPort.postMessage({ event: "running", tokens });
            if (mode === "exit") process.exit(0);
        }
    };
    const maxTokens = mode === "complete" ? 8 : 8000;
    const jobs = [0, 1, 2].map((seq) => ctx.submit({ seq, startPos: 0, prompt: [text], maxTokens, ignoreEog: true }, onToken).done);
    jobs.push(ctx.submit({ seq: 3, startPos: 0, prompt: screenshotPrompt(media), maxTokens: 4, ignoreEog: true }).done);
    if (mode !== "complete") return; // the job promises stay pending: the worker ends with them in flight
    const results = await Promise.all(jobs);
    ctx.dispose();
    media.dispose();
    parentPort.postMessage({ event: "completed", reasons: results.map((r) => r.reason), tokens: results.map((r) => r.tokens.length) });
}

function runWorker(mode, paths) {
    return new Promise((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { ...paths, mode } });
        const events = [];
        w.on("message", (m) => {
            events.push(m);
            console.log(JSON.stringify({ mode, ...m }));
            if (m.event === "running" && mode === "terminate") void w.terminate();
        });
        w.on("error", reject);
        w.on("exit", (code) => resolve({ code, events }));
    });
}

async function main() {
    const [modelPath, mmprojPath, addonPath] = process.argv.slice(2);
    const paths = { modelPath, mmprojPath, addonPath };
    for (const mode of ["terminate", "exit", "complete"]) {
        const { code, events } = await runWorker(mode, paths);
        console.log(JSON.stringify({ mode, event: "worker-exit", code, running: events.some((e) => e.event === "running") }));
    }
    // The process goes on: the main thread loads the addon and generates.
    const { ctx, text, model } = await open(modelPath, mmprojPath, addonPath);
    const r = await ctx.submit({ seq: 0, startPos: 0, prompt: [text], maxTokens: 8, ignoreEog: true }).done;
    ctx.dispose();
    await model.dispose();
    console.log(JSON.stringify({ mode: "main", event: "completed", reason: r.reason, tokens: r.tokens.length }));
}

if (isMainThread) await main();
else await worker();
