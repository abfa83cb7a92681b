// `autoglm serve` on the runtime's one decode loop, over real HTTP: a 1080x2400 screenshot request
// joining three running streams does not stall them, one speech model serves every audio request,
// and an internal failure is a 500 (exit 70 in the CLI) while a bad request is still a 4xx.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";
import { encodeWav, tone } from "./helpers/wav.js";

const root = tempDir("serve-runtime");
let files: Record<string, string>;
let asr: Record<string, string>;
let server: RunningServer;
const screenshot = join(root, "phone.png");

beforeAll(async () => {
    files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    asr = (await convert(await synthesize(join(root, "asr"), "glmasr"), join(root, "asr-out"), ["--outtype", "q8_0"])).files;
    await writeTestPng(screenshot, 1080, 2400);
    server = await startServer([
        "-m",
        files.text,
        "--mmproj",
        files.vision,
        "--asr-model",
        asr.text,
        "--asr-mmproj",
        asr.audio,
        "--parallel",
        "4",
        "--ctx-size",
        "4096",
    ]);
});

afterAll(async () => {
    if (server) expect(await server.stop(), server.stderr()).toBe(0);
});

/** A streamed chat completion whose events are counted as they arrive. */
function stream(url: string, body: object) {
    const abort = new AbortController();
    const state = { events: [] as Record<string, any>[], done: false };
    const finished = (async () => {
        const res = await fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ ...body, stream: true }),
            signal: abort.signal,
        });
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        let buf = "";
        for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += Buffer.from(value).toString("utf8");
            for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
                const line = buf.slice(0, i).trim();
                buf = buf.slice(i + 2);
                if (line.startsWith("data: ") && line !== "data: [DONE]") state.events.push(JSON.parse(line.slice(6)));
            }
        }
        state.done = true;
    })().catch((e) => {
        if ((e as Error).name !== "AbortError") throw e;
    });
    return { state, finished, abort: () => abort.abort() };
}

/** Events that carry generated text or end the answer (after the prompt was evaluated). */
const answered = (events: Record<string, any>[]) =>
    events.filter((e) => e.choices?.[0]?.delta?.content || e.choices?.[0]?.delta?.reasoning_content || e.choices?.[0]?.finish_reason)
        .length;
const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 10));
};

describe("autoglm serve on one decode loop", () => {
    it("three streams keep receiving tokens while a 1080x2400 screenshot request is evaluated", async () => {
        const streams = [0, 1, 2].map((i) =>
            stream(server.url, {
                model: "m",
                messages: [{ role: "user", content: `Talk forever, stream ${i}` }],
                max_tokens: 3500,
                temperature: 0,
                ignore_eos: true,
            }),
        );
        await until(() => streams.every((s) => answered(s.state.events) >= 2));
        const before = streams.map((s) => answered(s.state.events));
        const url = `data:image/png;base64,${readFileSync(screenshot).toString("base64")}`;
        const shot = stream(server.url, {
            model: "m",
            messages: [
                {
                    role: "user",
                    content: [
                        { type: "image_url", image_url: { url } },
                        { type: "text", text: "What is on the screen?" },
                    ],
                },
            ],
            max_tokens: 2,
            temperature: 0,
            stream_options: { include_usage: true },
        });
        await until(() => answered(shot.state.events) > 0);
        const during = streams.map((s, i) => answered(s.state.events) - before[i]!);
        for (const s of streams) {
            expect(s.state.done).toBe(false);
            s.abort();
        }
        await shot.finished;
        // The screenshot's 3,354 image tokens are decoded 512 at a time inside the streams' steps (and
        // encoded on the encoder's thread meanwhile): every stream produced while it was evaluated.
        for (const n of during) expect(n).toBeGreaterThanOrEqual(3);
        const usage = shot.state.events.find((e) => e.usage)?.usage;
        expect(usage.prompt_tokens).toBeGreaterThan(3354);
        await Promise.all(streams.map((s) => s.finished));
        // Polled until the slots are free (bounded by the test's timeout, not by a count of polls: the machine may be slow).
        let busy = "";
        while (!/autoglm_slots_busy 0\n/.test(busy)) {
            busy = await (await fetch(`${server.url}/metrics`)).text();
            await new Promise((r) => setTimeout(r, 20));
        }
        expect(busy).toMatch(/autoglm_slots_busy 0\n/); // the cancelled streams freed their slots
    });

    it("one speech model, with one context, serves several audio requests", async () => {
        const wav = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 1, 440)]).toString("base64");
        const ask = () =>
            fetch(`${server.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({
                    model: "m",
                    max_tokens: 4,
                    temperature: 0,
                    messages: [
                        {
                            role: "user",
                            content: [
                                { type: "input_audio", input_audio: { data: wav, format: "wav" } },
                                { type: "text", text: "What was said?" },
                            ],
                        },
                    ],
                }),
            });
        const first = await Promise.all([ask(), ask()]);
        const third = await ask();
        for (const r of [...first, third]) expect(r.status).toBe(200);
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        expect(metrics).toMatch(/autoglm_speech_model_loads_total 1\n/);
        expect(server.stderr().match(/speech model loaded/g)?.length).toBe(1);
    });
});

describe("a slot's record and the request's media", () => {
    it("the same prompt text with other pixels evaluates the new image; the same pixels again come from the cache", async () => {
        const a = join(root, "a.png"),
            b = join(root, "b.png");
        await writeTestPng(a, 96, 64);
        writeFileSync(
            b,
            await (await import("sharp"))
                .default({ create: { width: 96, height: 64, channels: 3, background: "#204060" } })
                .png()
                .toBuffer(),
        );
        const ask = async (file: string) => {
            const url = `data:image/png;base64,${readFileSync(file).toString("base64")}`;
            const r = await fetch(`${server.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({
                    model: "m",
                    max_tokens: 1,
                    temperature: 0,
                    messages: [
                        {
                            role: "user",
                            content: [
                                { type: "image_url", image_url: { url } },
                                { type: "text", text: "Same words." },
                            ],
                        },
                    ],
                }),
            });
            expect(r.status).toBe(200);
            return (await r.json()).timings;
        };
        await ask(a);
        const other = await ask(b);
        expect(other.prompt_n).toBeGreaterThanOrEqual(12); // 96x64 -> 4 x 3 image tokens, evaluated anew
        const again = await ask(b);
        expect(again.prompt_n).toBeLessThan(12);
        expect(again.cache_n).toBeGreaterThanOrEqual(12);
    });
});

describe("shutdown", () => {
    it("SIGTERM cuts a running stream with an error event (not a finished-looking answer), refuses the queued request with 503, and exits 0", async () => {
        const s = await startServer(["-m", files.text]); // one slot: the second request queues
        const running = stream(s.url, {
            model: "m",
            messages: [{ role: "user", content: "Talk forever." }],
            max_tokens: 100000,
            ignore_eos: true,
            temperature: 0,
        });
        await until(() => running.state.events.length >= 2);
        const queued = fetch(`${s.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "m", max_tokens: 4, messages: [{ role: "user", content: "hi" }] }),
        });
        let waiting = "";
        while (!/autoglm_queue_length 1\n/.test(waiting)) waiting = await (await fetch(`${s.url}/metrics`)).text();
        const code = await s.stop();
        await running.finished;
        expect(code).toBe(0);
        const last = running.state.events[running.state.events.length - 1]!;
        expect(last.error).toMatchObject({ code: "shutting_down" });
        expect(running.state.events.some((e) => e.choices?.[0]?.finish_reason)).toBe(false);
        const q = await queued;
        expect(q.status).toBe(503);
    });
});

describe("internal failures are reported as internal", () => {
    it("an injected native decode failure: HTTP 500 with an OpenAI-shaped body, a bad request still 400, /health still up", async () => {
        const faulty = await startServer(["-m", files.text], 60_000, { AUTOGLM_TEST_FAULT: "decode" });
        try {
            const post = (body: string) =>
                fetch(`${faulty.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
            const r = await post(JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello" }], max_tokens: 4 }));
            expect(r.status).toBe(500);
            const j = await r.json();
            expect(j.error).toMatchObject({ type: "server_error", code: "internal_error" });
            expect(j.error.message).toMatch(/internal error/);
            expect(faulty.stderr()).toMatch(/internal error/);
            const bad = await post("{not json");
            expect(bad.status).toBe(400);
            const missing = await post(JSON.stringify({ model: "m", messages: [{ role: "user" }] }));
            expect(missing.status).toBe(400);
            expect((await fetch(`${faulty.url}/health`)).status).toBe(200);
        } finally {
            await faulty.stop();
        }
    });

    it("the same failure in the CLI exits 70 with one line, while a bad flag still exits non-zero as the user's", async () => {
        const r = await runCli(["chat", "-m", files.text, "-n", "4"], { input: "hello\n", env: { AUTOGLM_TEST_FAULT: "decode" } });
        expect(r.code).toBe(70);
        expect(r.stderr).toMatch(/^autoglm: internal error: .*llama_decode failed/m);
        const bad = await runCli(["chat", "-m", files.text, "--ctx-size", "-5"], { env: { AUTOGLM_TEST_FAULT: "decode" } });
        expect(bad.code).toBe(1);
    });
});
