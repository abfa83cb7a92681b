// The phone agent against a plain `autoglm serve` (no flags: the demo model, its vision encoder and
// the model's trained context): Open-AutoGLM's deployment check and a 3-step agent loop as its
// client sends them through the openai SDK, and the server rules they rely on: context accounting
// in KV cells, finish_reason "length", reasoning_format, the pixel budget, headers before evaluation.
import OpenAI from "openai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("phone-agent");
let agent: RunningServer;
let small: RunningServer;
let client: OpenAI;

/** A system prompt of Open-AutoGLM's size and shape (2,400 characters: rules, then the action grammar). */
const SYSTEM = [
    "The current date: 2026-12-01. You are a phone-operating agent. Each turn you receive the task and a screenshot of the phone.",
    "Think about what is on the screen inside <think></think>, then give exactly one action inside <answer></answer>.",
    "Actions:",
    '- do(action="Launch", app="xxx"): open an app.',
    '- do(action="Tap", element=[x,y]): tap a point; coordinates run from (0,0) top left to (999,999) bottom right.',
    '- do(action="Type", text="xxx"): type into the focused field.',
    '- do(action="Swipe", start=[x1,y1], end=[x2,y2]): swipe.',
    '- do(action="Back"), do(action="Home"), do(action="Wait", duration="2 seconds").',
    '- finish(message="xxx"): the task is done; say what was achieved.',
    "Rules: check the screen before acting; if a page did not load, wait; if an app is missing, search for it; never guess a password.",
].join("\n");
const system = `${SYSTEM}\n${"Follow the rules strictly and keep every action on one line. ".repeat(40)}`.slice(0, 2400);

const screens: string[] = [];
const dataUrl = (file: string) => `data:image/png;base64,${readFileSync(file).toString("base64")}`;

beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
        const f = join(root, `screen-${i}.png`);
        await writeTestPng(f, 1080, 2400); // a 1080x2400 screenshot: 3,354 image tokens
        screens.push(f);
    }
    agent = await startServer([], 300_000); // no flags at all: what a new user starts
    client = new OpenAI({ baseURL: `${agent.url}/v1`, apiKey: "EMPTY", maxRetries: 0 });
    const files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    small = await startServer(["-m", files.text, "--mmproj", files.vision, "--ctx-size", "512"]);
});

afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    if (small) expect(await small.stop()).toBe(0);
});

/** Open-AutoGLM's sampling: greedy with top_p 0.85 and frequency_penalty 0.2, streamed (max_tokens lowered: the demo model never stops). */
const PARAMS = { model: "autoglm-phone-9b", max_tokens: 24, temperature: 0, top_p: 0.85, frequency_penalty: 0.2, stream: true } as const;

async function step(messages: OpenAI.ChatCompletionMessageParam[]) {
    const stream = await client.chat.completions.create({ ...PARAMS, messages, stream_options: { include_usage: true } });
    let content = "",
        finish: string | null = null,
        usage: any,
        reasoning = false;
    for await (const c of stream) {
        const d = c.choices[0]?.delta as any;
        content += d?.content ?? "";
        if (d?.reasoning_content) reasoning = true;
        finish = c.choices[0]?.finish_reason ?? finish;
        usage = c.usage ?? usage;
    }
    return { content, finish, usage, reasoning };
}

describe("Open-AutoGLM against autoglm serve with no flags", () => {
    it("the deployment check: system prompt, a 1080x2400 screenshot and the task in one streamed request", async () => {
        const models = await client.models.list();
        const m = models.data[0] as any;
        expect(m.max_model_len).toBeGreaterThanOrEqual(25480); // Open-AutoGLM runs vLLM with --max-model-len 25480
        expect(m.meta.image_max_pixels).toBe(5_000_000);
        const r = await step([
            { role: "system", content: system },
            {
                role: "user",
                content: [
                    { type: "text", text: "Task: open the settings app." },
                    { type: "image_url", image_url: { url: dataUrl(screens[0]!) } },
                ],
            },
        ]);
        expect(["stop", "length"]).toContain(r.finish); // answered, whether by its end token or max_tokens
        expect(r.reasoning).toBe(false); // nothing is taken out of content for a client that did not ask
        expect(r.usage.prompt_tokens).toBeGreaterThan(3354 + 400);
    });

    it("a 3-step agent loop: new screenshot each step, the previous image stripped, answers appended as <think>/<answer>; later steps reuse the cache", async () => {
        const history: OpenAI.ChatCompletionMessageParam[] = [{ role: "system", content: system }];
        const cached: number[] = [];
        for (let i = 0; i < 3; i++) {
            const text =
                i === 0
                    ? 'Task: turn on wifi.\n\n** Screen Info **\n{"current_app": "Launcher"}'
                    : '** Screen Info **\n{"current_app": "Settings"}';
            history.push({
                role: "user",
                content: [
                    { type: "text", text },
                    { type: "image_url", image_url: { url: dataUrl(screens[i]!) } },
                ],
            });
            const r = await step(history);
            expect(["stop", "length"]).toContain(r.finish);
            cached.push(r.usage.prompt_tokens_details.cached_tokens);
            // As agent.py does: drop the screenshot from the message just sent, keep its text; append the answer.
            const last = history[history.length - 1] as { content: { type: string; text?: string }[] };
            history[history.length - 1] = {
                role: "user",
                content: last.content.filter((p) => p.type === "text") as OpenAI.ChatCompletionContentPartText[],
            };
            history.push({
                role: "assistant",
                content: `<think>${r.content.slice(0, 8)}</think><answer>do(action="Tap", element=[500,500])</answer>`,
            });
        }
        expect(cached[1]).toBeGreaterThan(300); // at least the system prompt came from the cache
        expect(cached[2]).toBeGreaterThan(cached[1]!); // and then the first step's text too
    });

    it("the thinking stays in content for a client like Open-AutoGLM; reasoning_format deepseek (or return_reasoning) splits it", async () => {
        // The random-weight model does not think by itself: llama-server's grammar field makes it.
        const grammar = 'root ::= "<think>" "abc" "</think>" "<answer>" "done" "</answer>"';
        const ask = async (extra: object) => {
            const r = await fetch(`${agent.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({
                    model: "m",
                    max_tokens: 40,
                    temperature: 0,
                    grammar,
                    messages: [{ role: "user", content: "Think." }],
                    ...extra,
                }),
            });
            expect(r.status).toBe(200);
            return (await r.json()).choices[0].message;
        };
        const plain = await ask({});
        expect(plain.content).toMatch(/<think>abc<\/think>\s*<answer>done<\/answer>/);
        expect(plain.reasoning_content).toBeUndefined();
        expect((await ask({ reasoning_format: "none", return_reasoning: true })).content).toMatch(/<think>abc<\/think>/);
        for (const extra of [{ reasoning_format: "deepseek" }, { return_reasoning: true }]) {
            const split = await ask(extra);
            expect(split.reasoning_content).toBe("abc");
            expect(split.content).toBe("done");
        }
    });

    it("a 1440x3200 screenshot keeps the image tokens vLLM's max_pixels 5,000,000 gives it (51 x 114 = 5,814)", async () => {
        const big = join(root, "big.png"),
            tiny = join(root, "tiny.png");
        await writeTestPng(big, 1440, 3200);
        await writeTestPng(tiny, 96, 64); // 4 x 3 = 12 image tokens
        const promptTokens = async (file: string) => {
            const r = await client.chat.completions.create({
                model: "m",
                max_tokens: 1,
                temperature: 0,
                messages: [
                    {
                        role: "user",
                        content: [
                            { type: "image_url", image_url: { url: dataUrl(file) } },
                            { type: "text", text: "What is this?" },
                        ],
                    },
                ],
            });
            return r.usage!.prompt_tokens;
        };
        expect((await promptTokens(big)) - (await promptTokens(tiny))).toBe(5814 - 12);
    });

    it("a streamed request gets its headers and role chunk before its prompt is evaluated (here: while it waits for the one slot)", async () => {
        const abortA = new AbortController();
        const a = await fetch(`${agent.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            signal: abortA.signal,
            body: JSON.stringify({
                model: "m",
                stream: true,
                max_tokens: 100000,
                ignore_eos: true,
                temperature: 0,
                messages: [{ role: "user", content: "Talk forever." }],
            }),
        });
        const readerA = a.body!.getReader();
        await readerA.read();
        // B queues behind A (one slot): its headers and first event arrive while A still runs.
        const b = await fetch(`${agent.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "m", stream: true, max_tokens: 2, temperature: 0, messages: [{ role: "user", content: "Hi" }] }),
        });
        expect(b.status).toBe(200);
        expect(b.headers.get("content-type")).toMatch(/text\/event-stream/);
        const readerB = b.body!.getReader();
        const first = Buffer.from((await readerB.read()).value!).toString();
        expect(first).toMatch(/"role":"assistant"/);
        const metrics = await (await fetch(`${agent.url}/metrics`)).text();
        expect(metrics).toMatch(/autoglm_queue_length 1\n/); // B is still waiting: nothing of it was evaluated
        abortA.abort();
        let rest = "";
        for (;;) {
            const { value, done } = await readerB.read();
            if (done) break;
            rest += Buffer.from(value).toString();
        }
        expect(rest).toMatch(/"finish_reason":"length"/);
        expect(rest).toMatch(/data: \[DONE\]/);
    });
});

describe("request text", () => {
    it("a text that contains the media marker itself is a 400, not a misplaced image or a 500", async () => {
        await writeTestPng(join(root, "tiny.png"), 96, 64);
        const r = await fetch(`${small.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
                model: "m",
                max_tokens: 2,
                messages: [
                    {
                        role: "user",
                        content: [
                            { type: "image_url", image_url: { url: dataUrl(join(root, "tiny.png")) } },
                            { type: "text", text: "what is <__media__> here?" },
                        ],
                    },
                ],
            }),
        });
        expect(r.status).toBe(400);
        expect((await r.json()).error.message).toMatch(/contains <__media__>/);
    });
});

describe("context accounting in KV cells", () => {
    it("a prompt that cannot fit is a 400 at once, with its token count, the context size and the flag", async () => {
        const long = "word ".repeat(2000);
        for (const stream of [false, true]) {
            const r = await fetch(`${small.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ model: "m", stream, max_tokens: 8, messages: [{ role: "user", content: long }] }),
            });
            expect(r.status).toBe(400);
            const e = (await r.json()).error;
            expect(e.code).toBe("context_length_exceeded");
            expect(e.message).toMatch(/needs \d+ tokens .* holds 512\b.*--ctx-size/);
        }
        // A 1080x2400 screenshot is 3,354 KV cells, not its 86 M-RoPE positions: refused before it is encoded.
        const r = await fetch(`${small.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
                model: "m",
                max_tokens: 8,
                messages: [
                    {
                        role: "user",
                        content: [
                            { type: "image_url", image_url: { url: dataUrl(screens[0]!) } },
                            { type: "text", text: "hi" },
                        ],
                    },
                ],
            }),
        });
        expect(r.status).toBe(400);
        expect((await r.json()).error.message).toMatch(/needs 33\d\d tokens/);
    });

    it("a prompt that fits with an answer that does not is generated to the end of the context: finish_reason length, streamed and not", async () => {
        const c = new OpenAI({ baseURL: `${small.url}/v1`, apiKey: "EMPTY", maxRetries: 0 });
        const body = {
            model: "m",
            max_tokens: 5000,
            temperature: 0,
            ignore_eos: true,
            messages: [{ role: "user" as const, content: "Hello there" }],
        } as any;
        const r = await c.chat.completions.create(body);
        expect(r.choices[0]!.finish_reason).toBe("length");
        expect(r.usage!.prompt_tokens + r.usage!.completion_tokens).toBe(513); // 512 cells, the last token sampled only
        const s = await c.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
        let finish: string | null = null,
            usage: any;
        for await (const ch of s as any) {
            finish = ch.choices[0]?.finish_reason ?? finish;
            usage = ch.usage ?? usage;
        }
        expect(finish).toBe("length");
        expect(usage.completion_tokens).toBe(r.usage!.completion_tokens);
    });
});
