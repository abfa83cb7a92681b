// RemoteEngine against the real servers: llama.cpp's own llama-server (built from the bundled source)
// and `autoglm serve --parallel 4` (the real CLI), both on the demo model and its vision encoder.
// Answers arrive as events and a result, images are accepted, thinking comes apart whether the server
// leaves it in the content or splits it, a cancelled turn closes its connection and the server stops
// (llama-server logs the cancelled task; autoglm's slot frees after a handful of tokens), and what a
// server cannot take is refused before anything is sent.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultModel } from "../models/default-model.js";
import type { TurnEvent, TurnRequest } from "../src/engine/turn.js";
import { CancelledError } from "../src/engine/errors.js";
import { RemoteEngine } from "../src/remote/remote-engine.js";
import { startLlamaServer, type RunningLlamaServer } from "./helpers/llama-server.js";
import { writeTestPng } from "./helpers/media.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("remote-engine");
let demo: { text: string; vision: string };
let llama: RunningLlamaServer;
let textOnly: RunningLlamaServer;
let ours: RunningServer;
let png: Buffer;

beforeAll(async () => {
    demo = await defaultModel();
    await writeTestPng(join(root, "screen.png"), 216, 480);
    png = readFileSync(join(root, "screen.png"));
    llama = await startLlamaServer(["-m", demo.text, "--mmproj", demo.vision, "--jinja", "-np", "4", "-c", "32768"]);
    textOnly = await startLlamaServer(["-m", demo.text, "--jinja", "-np", "1", "-c", "2048"]);
    ours = await startServer(["--parallel", "4", "-c", "8192"], 300_000);
});

afterAll(async () => {
    await llama?.stop();
    await textOnly?.stop();
    if (ours) expect(await ours.stop()).toBe(0);
});

async function run(engine: RemoteEngine, request: TurnRequest) {
    const events: TurnEvent[] = [];
    const result = await engine.turn(request, (e) => events.push(e));
    return { events, result };
}

const greedy = (maxTokens: number): TurnRequest => ({ maxTokens, ignoreEos: true, sampling: { temperature: 0 } });
/** The random-weight model never thinks by itself: the grammar field (llama-server's, autoglm's) makes it. */
const THINK = { gbnf: 'root ::= "<think>" "abc" "</think>" "<answer>" "done" "</answer>"' };
const screenTurn = (text: string): TurnRequest["messages"] => [
    { role: "system", content: "You operate a phone." },
    {
        role: "user",
        content: [
            { type: "image", source: { bytes: png } },
            { type: "text", text },
        ],
    },
];

describe("against llama.cpp's llama-server", () => {
    it("reads its model, context per slot, slots and modalities; answers stream as text events; images are accepted; four turns at once", async () => {
        const engine = await RemoteEngine.open({ url: `${llama.url}/v1` });
        expect(engine.info).toMatchObject({ model: demo.text, vision: true, audio: false, contextTokens: 8192, where: `${llama.url}/v1` });
        expect(engine.capabilities).toMatchObject({ server: "llamacpp", slots: 4, source: "GET /props" });
        const text = await run(engine, { ...greedy(6), messages: [{ role: "user", content: "Hello" }] });
        expect(text.result).toMatchObject({ finish: "length", contextFull: false, usage: { completionTokens: 6 } });
        expect(text.events.map((e) => (e.type === "text" ? e.text : "")).join("")).toBe(text.result.content);
        expect(text.result.content.length).toBeGreaterThan(0);
        expect(text.result.usage.promptTokens).toBeGreaterThan(0);
        const image = await run(engine, { ...greedy(3), messages: screenTurn("What is on the screen?") });
        expect(image.result.usage.completionTokens).toBe(3);
        // The screenshot's embeddings are in the prompt: it is far longer than its text.
        expect(image.result.usage.promptTokens).toBeGreaterThan(text.result.usage.promptTokens + 50);
        const four = await Promise.all([1, 2, 3, 4].map((i) => run(engine, { ...greedy(4), messages: screenTurn(`Step ${i}`) })));
        expect(four.map((r) => r.result.usage.completionTokens)).toEqual([4, 4, 4, 4]);
        await engine.dispose();
    });

    it("thinking left in the content (llama-server's content-only format) comes apart; splitThinking false keeps the model's text", async () => {
        const engine = await RemoteEngine.open({ url: llama.url });
        const split = await run(engine, { maxTokens: 40, grammar: THINK, messages: [{ role: "user", content: "Think." }] });
        expect(split.result).toMatchObject({
            reasoning: "abc",
            content: "done",
            raw: "<think>abc</think><answer>done</answer>",
            finish: "stop",
        });
        expect(
            split.events
                .filter((e) => e.type === "reasoning")
                .map((e) => (e as { text: string }).text)
                .join(""),
        ).toBe("abc");
        const raw = await run(engine, {
            maxTokens: 40,
            grammar: THINK,
            splitThinking: false,
            messages: [{ role: "user", content: "Think." }],
        });
        expect(raw.result.content).toBe("<think>abc</think><answer>done</answer>");
        await engine.dispose();
    });

    it("a cancelled turn closes its connection: llama-server cancels the task; the turn ends as aborted with what had arrived", async () => {
        const engine = await RemoteEngine.open({ url: llama.url });
        const before = (llama.log().match(/cancel task/g) ?? []).length;
        const stop = new AbortController();
        const r = await engine.turn(
            { ...greedy(20000), signal: stop.signal, messages: [{ role: "user", content: "Go on forever." }] },
            (e) => {
                if (e.type === "text") stop.abort();
            },
        );
        expect(r.finish).toBe("aborted");
        expect(r.raw.length).toBeGreaterThan(0);
        await expect.poll(() => (llama.log().match(/cancel task/g) ?? []).length, { timeout: 60_000 }).toBeGreaterThan(before);
        // The slot is free again: the next turn is answered.
        expect((await run(engine, { ...greedy(2), messages: [{ role: "user", content: "Again" }] })).result.usage.completionTokens).toBe(2);
        // Cancelled before it was sent: nothing is sent, a CancelledError (as a local turn cancelled in its queue).
        const early = new AbortController();
        early.abort();
        await expect(
            engine.turn({ ...greedy(2), signal: early.signal, messages: [{ role: "user", content: "x" }] }),
        ).rejects.toBeInstanceOf(CancelledError);
        await engine.dispose();
    });

    it("audio for a vision-only server, and an image for a text-only one, are refused in one line naming the engine, before anything is read", async () => {
        const wav = { load: async () => expect.unreachable("the audio was read") as never };
        const engine = await RemoteEngine.open({ url: llama.url });
        await expect(engine.turn({ messages: [{ role: "user", content: [{ type: "audio", source: wav }] }] })).rejects.toThrow(
            `the engine at ${llama.url} (model ${demo.text}) takes no audio (its GET /props says so): start it with an audio encoder or speech model (llama-server --mmproj of an audio model), or run the command without --url (a speech model transcribes here)`,
        );
        await engine.dispose();
        const blind = await RemoteEngine.open({ url: textOnly.url });
        expect(blind.info.vision).toBe(false);
        await expect(blind.turn({ messages: screenTurn("see?") })).rejects.toThrow(
            `the engine at ${textOnly.url} (model ${demo.text}) takes no images (its GET /props says so): start it with a vision encoder (llama-server --mmproj) or leave the image out`,
        );
        await blind.dispose();
    });
});

describe("against autoglm serve --parallel 4", () => {
    const metric = async (name: string) =>
        Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${ours.url}/metrics`)).text())![1]);

    it("reads its meta (modalities, context, slots); answers and images arrive", async () => {
        const engine = await RemoteEngine.open({ url: `${ours.url}/v1` });
        expect(engine.info).toMatchObject({ model: "autoglm-demo", vision: true, audio: false, contextTokens: 8192 });
        expect(engine.capabilities).toMatchObject({ server: "autoglm", slots: 4, source: "GET /v1/models" });
        const text = await run(engine, { ...greedy(5), messages: [{ role: "user", content: "Hello" }] });
        expect(text.result.usage.completionTokens).toBe(5);
        expect(text.result.content.length).toBeGreaterThan(0);
        const image = await run(engine, { ...greedy(3), messages: screenTurn("What is on the screen?") });
        expect(image.result.usage.completionTokens).toBe(3);
        expect(image.result.usage.promptTokens).toBeGreaterThan(text.result.usage.promptTokens + 50);
        // The same conversation again: the server's cache serves its prefix.
        const again = await run(engine, { ...greedy(1), messages: screenTurn("What is on the screen?") });
        expect(again.result.usage.cachedTokens).toBeGreaterThan(0);
        await engine.dispose();
    });

    it("thinking split by the server (reasoning_content, asked for by enable_thinking) gives the same reasoning and content", async () => {
        const engine = await RemoteEngine.open({ url: ours.url });
        const r = await run(engine, {
            maxTokens: 40,
            grammar: THINK,
            enableThinking: true,
            messages: [{ role: "user", content: "Think." }],
        });
        expect(r.result).toMatchObject({ reasoning: "abc", content: "done", finish: "stop" });
        expect(r.result.raw).toBe("<think>abc</think>done"); // the server took the <answer> tags out of its content
        const left = await run(engine, { maxTokens: 40, grammar: THINK, messages: [{ role: "user", content: "Think." }] });
        expect(left.result).toMatchObject({ reasoning: "abc", content: "done", raw: "<think>abc</think><answer>done</answer>" });
        await engine.dispose();
    });

    it("a cancelled turn frees its slot after a handful of tokens (it would have run 20000)", async () => {
        const engine = await RemoteEngine.open({ url: ours.url });
        const before = await metric("autoglm_completion_tokens_total");
        const stop = new AbortController();
        const r = await engine.turn(
            { ...greedy(20000), signal: stop.signal, messages: [{ role: "user", content: "Go on forever." }] },
            (e) => {
                if (e.type === "text") stop.abort();
            },
        );
        expect(r.finish).toBe("aborted");
        await expect.poll(() => metric("autoglm_slots_busy"), { timeout: 60_000 }).toBe(0);
        await expect.poll(() => metric("autoglm_completion_tokens_total"), { timeout: 60_000 }).toBeGreaterThan(before);
        expect((await metric("autoglm_completion_tokens_total")) - before).toBeLessThan(1000);
        await engine.dispose();
    });
});
