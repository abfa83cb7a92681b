// What RemoteEngine sends and how it reads what comes back, against a scripted OpenAI-compatible
// stand-in that records every request byte for byte: Open-AutoGLM's request shapes kept exactly,
// sampling under OpenAI's names (extensions only when set), SSE read as bytes arrive (split anywhere,
// \r\n, comments, error events), thinking from <think> or reasoning_content, capability refusals
// before anything is sent, and one-line failures for dead, hung and refusing endpoints.
import { createServer, type Server, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/core/errors.js";
import type { TurnEvent, TurnMessage } from "../src/engine/turn.js";
import { checkModel } from "../src/agent/checks.js";
import { screenInfo, userText } from "../src/agent/history.js";
import { systemPrompt } from "../src/agent/prompts.js";
import { CancelledError } from "../src/engine/errors.js";
import { RemoteEngine } from "../src/remote/remote-engine.js";
import { SseParser } from "../src/remote/sse.js";
import { audioFormat, imageMime } from "../src/remote/media.js";
import { writeTestPng, writeToneWav } from "./helpers/media.js";
import { sse, startStandIn, type StandIn } from "./helpers/openai-stand-in.js";
import { tempDir } from "./helpers/tmp.js";
import { createHash } from "node:crypto";
import { concurrencyList, defaultConcurrency } from "../src/cli/commands/bench-remote.js";
import { percentiles } from "../src/engine/stats.js";

const root = tempDir("remote-requests");
const MODELS = { object: "list", data: [{ id: "autoglm-phone-9b", object: "model", owned_by: "vllm", max_model_len: 25480 }] };
const DONE = "data: [DONE]\n\n";
let standIn: StandIn;
let png: Buffer;

beforeAll(async () => {
    await writeTestPng(join(root, "shot.png"), 108, 240);
    png = readFileSync(join(root, "shot.png"));
    standIn = await startStandIn({ models: MODELS });
});
afterAll(async () => standIn?.close());
afterEach(() => {
    standIn.requests.length = 0;
    standIn.script = { models: MODELS, completion: () => [sse({ role: "assistant", content: "" }), sse({ content: "ok" }, "stop"), DONE] };
});

const posts = () => standIn.requests.filter((r) => r.method === "POST");

/** A turn's events and result. */
async function run(engine: RemoteEngine, request: Parameters<RemoteEngine["turn"]>[0]) {
    const events: TurnEvent[] = [];
    const result = await engine.turn(request, (e) => events.push(e));
    return { events, result };
}

describe("Open-AutoGLM's system prompt", () => {
    it("is prompts_zh.py and prompts_en.py byte for byte, with the date line Python renders (sha256 of Open-AutoGLM's own output for 2026-02-12)", () => {
        const day = new Date(2026, 1, 12, 9, 30); // a Thursday
        const sha = (s: string) => createHash("sha256").update(s).digest("hex");
        // Rendered by Open-AutoGLM's Python (6b18d7be) with datetime.today() fixed to that day.
        expect(sha(systemPrompt("cn", day))).toBe("8665c042090424cfebc3d7130b009d6c1fc8f685f28baa8e87bf5ce343438692");
        expect(sha(systemPrompt("en", day))).toBe("48031a14b65874a8d8b0cc72912cc4c05a8ed80d8a19ade9b53d474607bb3cb9");
        expect(systemPrompt("cn", day).split("\n")[0]).toBe("今天的日期是: 2026年02月12日 星期四");
        expect(systemPrompt("en", new Date(2026, 2, 1)).split("\n")[0]).toBe("The current date: 2026-03-01, Sunday");
        expect(screenInfo("微信")).toBe('{"current_app": "微信"}'); // json.dumps(..., ensure_ascii=False)
        expect(userText("System Home", "打开微信")).toBe('打开微信\n\n{"current_app": "System Home"}');
        expect(userText("微信")).toBe('** Screen Info **\n\n{"current_app": "微信"}');
    });
});

describe("requests as the caller shaped them", () => {
    it("an agent step is sent exactly as Open-AutoGLM sends it: string system, image before text, earlier turns a one-part text list, its sampling", async () => {
        const engine = await RemoteEngine.open({ url: `${standIn.url}/v1`, apiKey: "EMPTY" });
        const system = systemPrompt("cn");
        const messages: TurnMessage[] = [
            { role: "system", content: system },
            { role: "user", content: [{ type: "text", text: userText("System Home", "打开设置") }] },
            { role: "assistant", content: '<think>在桌面。</think><answer>do(action="Launch", app="设置")</answer>' },
            {
                role: "user",
                content: [
                    { type: "image", source: { bytes: png } },
                    { type: "text", text: userText("设置") },
                ],
            },
        ];
        await run(engine, {
            messages,
            sampling: { temperature: 0, topP: 0.85, frequencyPenalty: 0.2 },
            maxTokens: 3000,
            splitThinking: false,
        });
        const [req] = posts();
        expect(req!.path).toBe("/v1/chat/completions");
        expect(req!.headers.authorization).toBe("Bearer EMPTY");
        expect(req!.body).toEqual({
            model: "autoglm-phone-9b",
            messages: [
                { role: "system", content: system },
                { role: "user", content: [{ type: "text", text: userText("System Home", "打开设置") }] },
                { role: "assistant", content: '<think>在桌面。</think><answer>do(action="Launch", app="设置")</answer>' },
                {
                    role: "user",
                    content: [
                        { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
                        { type: "text", text: userText("设置") },
                    ],
                },
            ],
            max_tokens: 3000,
            temperature: 0,
            top_p: 0.85,
            frequency_penalty: 0.2,
            stream: true,
            stream_options: { include_usage: true }, // the token counts; no server passes it to the model
        });
        await engine.dispose();
    });

    it("sends only the fields set, under OpenAI's names; llama.cpp's and vLLM's extensions only when given", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        await run(engine, { messages: [{ role: "user", content: "hi" }] });
        expect(posts()[0]!.body).toEqual({
            model: "autoglm-phone-9b",
            messages: [{ role: "user", content: "hi" }],
            stream: true,
            stream_options: { include_usage: true },
        });
        expect(posts()[0]!.headers.authorization).toBeUndefined();
        // llama.cpp's grammar field goes only to a server that takes it (llama-server, autoglm serve).
        standIn.script.models = { object: "list", data: [{ id: "autoglm-phone-9b", object: "model", owned_by: "llamacpp" }] };
        const llama = await RemoteEngine.open({ url: standIn.url });
        await run(llama, {
            messages: [{ role: "user", content: "hi" }],
            sampling: {
                temperature: 0.7,
                topK: 40,
                topP: 0.9,
                minP: 0.05,
                repeatPenalty: 1.1,
                penaltyLastN: 64,
                presencePenalty: 0.5,
                seed: 7,
            },
            maxTokens: 12,
            stop: ["</answer>"],
            ignoreEos: true,
            enableThinking: false,
            grammar: { gbnf: 'root ::= "a"' },
        });
        expect(posts()[1]!.body).toMatchObject({
            max_tokens: 12,
            temperature: 0.7,
            top_p: 0.9,
            top_k: 40,
            min_p: 0.05,
            repeat_penalty: 1.1,
            repetition_penalty: 1.1,
            repeat_last_n: 64,
            presence_penalty: 0.5,
            seed: 7,
            stop: ["</answer>"],
            ignore_eos: true,
            chat_template_kwargs: { enable_thinking: false },
            grammar: 'root ::= "a"',
        });
        expect(posts()[1]!.body).not.toHaveProperty("frequency_penalty");
        await run(engine, { messages: [{ role: "user", content: "hi" }], grammar: { jsonSchema: { type: "object" } } });
        expect(posts()[2]!.body).toMatchObject({ response_format: { type: "json_schema", json_schema: { schema: { type: "object" } } } });
        // A raw prompt goes to the text completions endpoint.
        standIn.script.completion = () => [
            `data: ${JSON.stringify({ choices: [{ index: 0, text: "xyz", finish_reason: "length" }] })}\n\n`,
            DONE,
        ];
        const raw = await run(engine, { prompt: "Once upon", maxTokens: 3 });
        expect(posts()[3]).toMatchObject({ path: "/v1/completions", body: { prompt: "Once upon", max_tokens: 3 } });
        expect(raw.result.content).toBe("xyz");
        await engine.dispose();
        await llama.dispose();
    });

    it("images and audio: the type from the bytes (not the name), media read from files, WAV and MP3 as input_audio", async () => {
        const jpeg = join(root, "photo.png"); // a JPEG under a .png name
        const sharp = (await import("sharp")).default;
        await sharp(png).jpeg().toFile(jpeg);
        const wav = join(root, "tone.wav");
        writeToneWav(wav, 0.2);
        const engine = await RemoteEngine.open({ url: standIn.url });
        await run(engine, {
            messages: [
                {
                    role: "user",
                    content: [
                        { type: "text", text: "what?" },
                        { type: "image", source: { path: jpeg } },
                        { type: "audio", source: { path: wav } },
                    ],
                },
            ],
        });
        const content = (posts()[0]!.body as { messages: { content: { type: string }[] }[] }).messages[0]!.content;
        expect(content.map((p) => p.type)).toEqual(["text", "image_url", "input_audio"]);
        expect(content[1]).toEqual({
            type: "image_url",
            image_url: { url: `data:image/jpeg;base64,${readFileSync(jpeg).toString("base64")}` },
        });
        expect(content[2]).toEqual({ type: "input_audio", input_audio: { data: readFileSync(wav).toString("base64"), format: "wav" } });
        expect(imageMime(Buffer.from("GIF89a......"))).toBe("image/gif");
        expect(audioFormat(Buffer.from("ID3\u0004\u0000"))).toBe("mp3");
        await expect(run(engine, { messages: [{ role: "user", content: [{ type: "image", source: { path: wav } }] }] })).rejects.toThrow(
            /tone\.wav is not an image a remote engine takes/,
        );
        await expect(run(engine, { messages: [{ role: "user", content: [{ type: "audio", source: { path: jpeg } }] }] })).rejects.toThrow(
            /is not WAV or MP3 audio/,
        );
        await expect(
            run(engine, { messages: [{ role: "user", content: [{ type: "image", source: { path: join(root, "nope.png") } }] }] }),
        ).rejects.toThrow(/cannot read .*nope\.png/);
        expect(posts()).toHaveLength(1); // refused media sent nothing
        await engine.dispose();
    });
});

describe("reading the stream", () => {
    it("SSE split anywhere (inside a line, inside a UTF-8 character, between \\r and \\n), comments and multi-line data", () => {
        const text =
            ': ping\r\n\r\ndata: {"a":\r\ndata: "设置"}\r\n\r\nevent: error\ndata: {"b":1}\n\n: comment\rdata: x\r\rdata: {"c":2}\n\ndata: [DONE]\n\n';
        const bytes = Buffer.from(text);
        const whole = new SseParser().push(bytes);
        const parser = new SseParser();
        const split = [...bytes].flatMap((b) => parser.push(Uint8Array.of(b)));
        expect(whole).toEqual([
            { event: "message", data: '{"a":\n"设置"}' },
            { event: "error", data: '{"b":1}' },
            { event: "message", data: "x" },
            { event: "message", data: '{"c":2}' },
            { event: "message", data: "[DONE]" },
        ]);
        expect(split).toEqual(whole);
    });

    it("thinking left in the content (<think>, split across chunks) and thinking split by the server (reasoning_content) give the same events; raw keeps the tags", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        standIn.script.completion = () => [
            sse({ role: "assistant", content: "" }),
            sse({ content: "<thi" }),
            sse({ content: "nk>看桌面" }),
            sse({ content: "</think><ans" }),
            sse({ content: 'wer>do(action="Back")</answer>' }),
            sse({}, "stop"),
            `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 50, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 40 } } })}\n\n`,
            DONE,
        ];
        const inContent = await run(engine, { messages: [{ role: "user", content: "go" }] });
        expect(inContent.result).toMatchObject({
            reasoning: "看桌面",
            content: 'do(action="Back")',
            raw: '<think>看桌面</think><answer>do(action="Back")</answer>',
            finish: "stop",
            usage: { promptTokens: 50, cachedTokens: 40, completionTokens: 9 },
        });
        standIn.script.completion = () => [
            sse({ role: "assistant", content: "" }),
            sse({ reasoning_content: "看" }),
            sse({ reasoning_content: "桌面" }),
            sse({ content: 'do(action="Back")' }),
            `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }], timings: { prompt_n: 10, cache_n: 40, prompt_ms: 12.5, predicted_n: 4 } })}\n\n`,
            DONE,
        ];
        const split = await run(engine, { messages: [{ role: "user", content: "go" }] });
        expect(split.result).toMatchObject({
            reasoning: "看桌面",
            content: 'do(action="Back")',
            raw: '<think>看桌面</think>do(action="Back")',
            usage: { promptTokens: 50, cachedTokens: 40, completionTokens: 4 },
        });
        expect(split.result.timings.promptMs).toBe(12.5);
        const kinds = (events: TurnEvent[]) => events.map((e) => e.type).filter((t, i, a) => t !== a[i - 1]);
        expect(kinds(split.events)).toEqual(["reasoning", "text"]);
        expect(kinds(inContent.events)).toEqual(["reasoning", "text"]);
        // splitThinking false: the model's text as text events, the server's split put back in its tags.
        const rawTurn = await run(engine, { messages: [{ role: "user", content: "go" }], splitThinking: false });
        expect(rawTurn.events.map((e) => (e.type === "text" ? e.text : "?")).join("")).toBe('<think>看桌面</think>do(action="Back")');
        expect(rawTurn.result.content).toBe('<think>看桌面</think>do(action="Back")');
        await engine.dispose();
    });

    it("an error event mid-stream, a stream cut before its end, and a non-JSON event are one-line errors, never a finished answer", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        standIn.script.completion = () => [
            sse({ content: "half" }),
            `data: ${JSON.stringify({ error: { message: "KV cache\nfull", code: 500 } })}\n\n`,
        ];
        await expect(run(engine, { messages: [{ role: "user", content: "go" }] })).rejects.toThrow(
            /stopped the answer with an error: KV cache full$/,
        );
        standIn.script.completion = () => [sse({ content: "half" })];
        await expect(run(engine, { messages: [{ role: "user", content: "go" }] })).rejects.toThrow(
            /closed the stream before the answer finished/,
        );
        standIn.script.completion = () => [sse({ content: "half" }), DONE];
        await expect(run(engine, { messages: [{ role: "user", content: "go" }] })).rejects.toThrow(/no finish_reason before \[DONE\]/);
        standIn.script.completion = () => ["data: <html>\n\n"];
        await expect(run(engine, { messages: [{ role: "user", content: "go" }] })).rejects.toThrow(/sent an event that is not JSON/);
        standIn.script.completion = () => ({ status: 400, body: { error: { message: "prompt too long", type: "invalid_request_error" } } });
        const e = await run(engine, { messages: [{ role: "user", content: "go" }] }).catch((x) => x);
        expect(e).toBeInstanceOf(UserError);
        expect(e.message).toBe(`${standIn.url}: /v1/chat/completions answered 400: prompt too long`);
        await engine.dispose();
    });
});

describe("capabilities", () => {
    it("llama-server's /props and autoglm's meta say what it takes; an image or audio it cannot take is refused before anything is read or sent", async () => {
        standIn.script.models = { data: [{ id: "m.gguf", owned_by: "llamacpp", meta: { n_ctx: 4096 } }] };
        standIn.script.props = { modalities: { vision: false, audio: false }, total_slots: 2 };
        const engine = await RemoteEngine.open({ url: standIn.url });
        expect(engine.info).toMatchObject({ model: "m.gguf", vision: false, audio: false, contextTokens: 4096, where: standIn.url });
        expect(engine.capabilities.slots).toBe(2);
        const unread = { load: async () => expect.unreachable("the image was read") as never };
        await expect(run(engine, { messages: [{ role: "user", content: [{ type: "image", source: unread }] }] })).rejects.toThrow(
            `the engine at ${standIn.url} (model m.gguf) takes no images (its GET /props says so): start it with a vision encoder (llama-server --mmproj) or leave the image out`,
        );
        await expect(run(engine, { messages: [{ role: "user", content: [{ type: "audio", source: unread }] }] })).rejects.toThrow(
            /\(model m\.gguf\) takes no audio .*run the command without --url \(a speech model transcribes here\)/,
        );
        expect(posts()).toHaveLength(0);
        await engine.dispose();
        standIn.script.models = {
            data: [
                {
                    id: "autoglm-phone-9b",
                    owned_by: "autoglm",
                    max_model_len: 8192,
                    meta: { n_slots: 4, modalities: { text: true, vision: true, audio: true } },
                },
            ],
        };
        const ours = await RemoteEngine.open({ url: standIn.url });
        expect(ours.capabilities).toMatchObject({ vision: true, audio: true, contextTokens: 8192, slots: 4, server: "autoglm" });
        await ours.dispose();
        // vLLM publishes its context but not what it takes: unknown, so the server decides. (A /v1/ address works too.)
        standIn.script.models = MODELS;
        const vllm = await RemoteEngine.open({ url: `${standIn.url}/v1/` });
        expect(vllm.capabilities).toMatchObject({ server: "vllm", contextTokens: 25480 });
        expect([vllm.capabilities.vision, vllm.capabilities.audio]).toEqual([undefined, undefined]);
        expect(vllm.info).toMatchObject({ vision: true, audio: true, contextTokens: 25480 });
        await vllm.dispose();
    });

    it("the model: the only one served by default; --model must be one served (aliases count); several need --model; no /v1/models needs --model", async () => {
        standIn.script.models = { data: [{ id: "a" }, { id: "b", aliases: ["bee"] }] };
        await expect(RemoteEngine.open({ url: standIn.url })).rejects.toThrow(
            `${standIn.url} serves several models (a, b): choose one with --model (or AUTOGLM_MODEL)`,
        );
        await expect(RemoteEngine.open({ url: standIn.url, model: "c" })).rejects.toThrow(`${standIn.url} serves a, b, not "c" (--model)`);
        const bee = await RemoteEngine.open({ url: standIn.url, model: "bee" });
        expect(bee.info.model).toBe("bee");
        await bee.dispose();
        standIn.script.models = undefined; // a router without a model list
        await expect(RemoteEngine.open({ url: standIn.url })).rejects.toThrow(/has no \/v1\/models \(404: no route GET \/v1\/models\)/);
        const named = await RemoteEngine.open({ url: standIn.url, model: "x" });
        expect(named.info).toMatchObject({ model: "x", vision: true, contextTokens: 0 });
        await named.dispose();
        standIn.script.models = { status: 401, body: { error: { message: "Invalid API Key", type: "authentication_error" } } };
        await expect(RemoteEngine.open({ url: standIn.url })).rejects.toThrow(
            `${standIn.url} refused the request (401: Invalid API Key): give its key with --api-key (or AUTOGLM_API_KEY)`,
        );
        await expect(RemoteEngine.open({ url: standIn.url, apiKey: "k" })).rejects.toThrow(/the key given with --api-key is not accepted/);
    });
});

describe("endpoints that do not answer", () => {
    let hung: Server;
    const sockets: Socket[] = [];
    beforeAll(async () => {
        // Accepts connections and never says a word.
        hung = createServer((s) => sockets.push(s));
        await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    });
    afterAll(async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => hung.close(() => resolve()));
    });

    it("nothing listening, a server that never answers, and a bad address: one line each", async () => {
        const closed = createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as { port: number }).port;
        await new Promise<void>((resolve) => closed.close(() => resolve()));
        await expect(RemoteEngine.open({ url: `http://127.0.0.1:${port}/v1` })).rejects.toThrow(
            `cannot reach http://127.0.0.1:${port}/v1: connection refused (is the server running there?)`,
        );
        const url = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
        await expect(RemoteEngine.open({ url })).rejects.toThrow(`${url} did not answer GET /v1/models within 10 s`);
        await expect(RemoteEngine.open({ url: "ftp://example.com" })).rejects.toThrow(/--url must be an http:\/\/ or https:\/\/ address/);
        await expect(RemoteEngine.open({ url: "localhost:8000" })).rejects.toThrow(/--url must be an http:\/\/ or https:\/\/ address/);
    }, 60_000);
});

describe("servers that misbehave: one line, never a hang or a crash", () => {
    const hi = { messages: [{ role: "user" as const, content: "Hi" }], maxTokens: 5 };
    const ok = [sse({ role: "assistant", content: "" }), sse({ content: "ok" }, "stop")];

    it("a stream kept open after [DONE] ends the turn at [DONE]", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        standIn.script.completion = () => ({ chunks: [...ok, DONE, ": still here\n\n"], keepOpen: true });
        expect((await run(engine, hi)).result.content).toBe("ok");
        await engine.dispose();
    });

    it("a stream that goes on past max_tokens is cut off", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        standIn.script.completion = () => ({ chunks: Array.from({ length: 200 }, () => sse({ content: "x" })), keepOpen: true });
        await expect(engine.turn(hi)).rejects.toThrow(/kept streaming past max_tokens \(5\): the answer was cut off/);
        await engine.dispose();
    });

    it("a line or an event of more than 8 MiB is refused as it arrives", () => {
        const line = new SseParser();
        expect(() => {
            for (let i = 0; i < 9; i++) line.push(Buffer.alloc(2 ** 20, "a"));
        }).toThrow(/a line of more than 8388608 characters/);
        const event = new SseParser();
        const piece = Buffer.from(`data: ${"b".repeat(2 ** 16)}\n`);
        expect(() => {
            for (let i = 0; i < 140; i++) event.push(piece);
        }).toThrow(/an event of more than 8388608 characters/);
    });

    it("a page instead of a stream, a huge error body, and error: null in a good chunk", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        standIn.script.completion = () => ({ chunks: ["<html><body>Bad gateway</body></html>"], contentType: "text/html" });
        await expect(engine.turn(hi)).rejects.toThrow(
            `${standIn.url}: /v1/chat/completions answered text/html, not an event stream (is it an OpenAI-compatible server?): <html><body>Bad gateway</body></html>`,
        );
        standIn.script.completion = () => ({ status: 500, body: { error: { message: `out of memory ${"z".repeat(2 ** 20)}` } } });
        await expect(engine.turn(hi)).rejects.toThrow(/answered 500: .{300}\.\.\.$/);
        standIn.script.completion = () => [
            sse({ role: "assistant", content: "" }),
            sse({ content: "fine" }, "stop").replace("{", '{"error":null,'),
            DONE,
        ];
        expect((await run(engine, hi)).result.content).toBe("fine");
        await engine.dispose();
    });

    it("a llama-server whose /props is a page still opens, its modalities unknown", async () => {
        const llama = await startStandIn({
            models: { object: "list", data: [{ id: "m", object: "model", owned_by: "llamacpp" }] },
            props: { status: 502, body: "<html>proxy error</html>" },
        });
        const engine = await RemoteEngine.open({ url: llama.url });
        expect(engine.capabilities).toMatchObject({ server: "llamacpp", model: "m" });
        expect(engine.capabilities.vision).toBeUndefined();
        await engine.dispose();
        await llama.close();
    });

    it("cancelled before the answer began (no headers yet): a CancelledError, which a chat survives", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        standIn.script.completion = () => ({ chunks: [], keepOpen: true });
        const controller = new AbortController();
        const turn = engine.turn({ ...hi, signal: controller.signal });
        while (posts().length === 0) await new Promise((r) => setTimeout(r, 10));
        controller.abort();
        await expect(turn).rejects.toBeInstanceOf(CancelledError);
        await engine.dispose();
    });

    it("the context is full only when the server's own count says the answer stopped short of max_tokens", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        const cut = (usage?: object) => [
            sse({ role: "assistant", content: "" }),
            sse({ content: "two tokens" }),
            sse({ content: "and two" }, "length"),
            ...(usage ? [`data: ${JSON.stringify({ choices: [], usage })}\n\n`] : []),
            DONE,
        ];
        standIn.script.completion = () => cut(); // no usage: 2 chunks, 4 tokens; max_tokens was the cut
        expect((await run(engine, hi)).result).toMatchObject({ finish: "length", contextFull: false });
        standIn.script.completion = () => cut({ prompt_tokens: 9, completion_tokens: 3 });
        expect((await run(engine, hi)).result).toMatchObject({ finish: "length", contextFull: true });
        standIn.script.completion = () => cut({ prompt_tokens: 9, completion_tokens: 5 });
        expect((await run(engine, hi)).result).toMatchObject({ finish: "length", contextFull: false });
        await engine.dispose();
    });

    it("the agent's model check gives up on a server that never answers", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url });
        standIn.script.completion = () => ({ chunks: [], keepOpen: true });
        expect(await checkModel(engine, 300)).toBe(`the model does not answer (${standIn.url}): no answer within 0.3 s`);
        await engine.dispose();
    });

    it("a GBNF grammar for a server that does not say it takes one is refused before anything is sent", async () => {
        const engine = await RemoteEngine.open({ url: standIn.url }); // owned_by vllm
        await expect(engine.turn({ ...hi, grammar: { gbnf: 'root ::= "a"' } })).rejects.toThrow(
            /does not take a GBNF grammar \(a vllm server; autoglm serve and llama-server do\): leave the grammar out/,
        );
        expect(posts()).toHaveLength(0);
        await engine.dispose();
    });
});

describe("bench --url's load levels", () => {
    it("default levels double up to the slots a server publishes (at least 1, 2, 4); lists are checked; percentiles are nearest-rank samples", () => {
        expect(defaultConcurrency(undefined)).toEqual([1, 2, 4]);
        expect(defaultConcurrency(1)).toEqual([1, 2, 4]);
        expect(defaultConcurrency(8)).toEqual([1, 2, 4, 8]);
        expect(defaultConcurrency(12)).toEqual([1, 2, 4, 8]);
        expect(concurrencyList("1, 2,16")).toEqual([1, 2, 16]);
        for (const bad of ["", "0", "1,x", "2.5", "257", "1,,2"]) expect(() => concurrencyList(bad), bad).toThrow(UserError);
        const p = percentiles([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        expect([p.p50, p.p90, p.max]).toEqual([5, 9, 10]);
        expect(percentiles([7])).toMatchObject({ p50: 7, p90: 7, max: 7 });
    });
});
