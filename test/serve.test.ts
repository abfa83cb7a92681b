// `autoglm serve` through real clients over real HTTP: the openai SDK, LangChain's ChatOpenAI and
// plain fetch, against the real server on tiny converted models.
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";
import { encodeWav, tone } from "./helpers/wav.js";

const root = tempDir("serve");
let files: Record<string, string>;
let asr: Record<string, string>;
let server: RunningServer;
let client: OpenAI;
const png = join(root, "screen.png");
const MODEL = "autoglm-phone-9b";

beforeAll(async () => {
    files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    asr = (await convert(await synthesize(join(root, "asr"), "glmasr"), join(root, "asr-out"), ["--outtype", "q8_0"])).files;
    await writeTestPng(png);
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
        "2048",
    ]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "EMPTY" });
});

afterAll(async () => {
    if (!server) return;
    const code = await server.stop();
    expect(code, server.stderr()).toBe(0); // SIGTERM: cancel, free, exit 0
    expect(server.stderr()).toMatch(/stopped/);
});

const greedy = { temperature: 0, max_tokens: 12 } as const;
const ask = (content: string) => client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }], ...greedy });

describe("autoglm serve", () => {
    it("start-up log, /health, /v1/models", async () => {
        expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/); // binds to localhost by default
        expect(server.stderr()).toMatch(/model .*\| backend cpu .*\| loaded in .*\| RAM /);
        expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: "ok" });
        const models = await client.models.list();
        const m = models.data[0] as unknown as { id: string; meta: Record<string, unknown> };
        expect(m.id).toBe(MODEL);
        expect(m.meta).toMatchObject({ n_ctx: 2048, modalities: { text: true, vision: true, audio: true } });
        expect(m.meta.n_params).toBeGreaterThan(0);
    });

    it("openai SDK: non-streaming with usage, and streaming giving the same greedy text", async () => {
        const r = await ask("Hello, who are you?");
        expect(r.object).toBe("chat.completion");
        expect(r.choices[0]!.message.role).toBe("assistant");
        expect(r.choices[0]!.finish_reason).toMatch(/stop|length/);
        expect(r.usage!.completion_tokens).toBeGreaterThan(0);
        expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);

        const stream = await client.chat.completions.create({
            model: MODEL,
            messages: [{ role: "user", content: "Hello, who are you?" }],
            ...greedy,
            stream: true,
            stream_options: { include_usage: true },
        });
        const chunks = [];
        for await (const c of stream) chunks.push(c);
        expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
        const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
        expect(text.trim()).toBe(r.choices[0]!.message.content);
        const last = chunks[chunks.length - 1]!;
        expect(last.choices).toEqual([]);
        // The same prompt again: the slot's cache held all of it but the last token.
        const { prompt_tokens_details: details, ...counts } = last.usage as any;
        const { prompt_tokens_details: first, ...firstCounts } = r.usage as any;
        expect(counts).toEqual(firstCounts);
        expect(first.cached_tokens).toBe(0);
        expect(details.cached_tokens).toBe(r.usage!.prompt_tokens - 1);
        expect(chunks[chunks.length - 2]!.choices[0]!.finish_reason).toBe(r.choices[0]!.finish_reason);
    });

    it("openai SDK: an image part is encoded (the same greedy answer as autoglm describe)", async () => {
        const url = `data:image/png;base64,${readFileSync(png).toString("base64")}`;
        const r = await client.chat.completions.create({
            model: MODEL,
            temperature: 0,
            max_tokens: 12,
            messages: [
                {
                    role: "user",
                    content: [
                        { type: "image_url", image_url: { url } },
                        { type: "text", text: "Describe this image." },
                    ],
                },
            ],
        });
        const textOnly = await ask("Describe this image.");
        expect(r.usage!.prompt_tokens).toBeGreaterThanOrEqual(textOnly.usage!.prompt_tokens + 12); // 4 x 3 image embeddings
        const cli = await runCli(["describe", png, "-m", files.text, "--mmproj", files.vision, "-n", "12", "--json"]);
        expect(cli.code, cli.stderr).toBe(0);
        expect(r.choices[0]!.message.content).toBe(JSON.parse(cli.stdout).content);
    });

    it("the seed article's composite {text, image, audio} input and an input_audio part (transcribed by the speech model)", async () => {
        const wav = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 1, 440)]).toString("base64");
        const image = readFileSync(png).toString("base64");
        const composite = await fetch(`${server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
                model: MODEL,
                max_tokens: 4,
                temperature: 0,
                messages: [{ role: "user", content: { text: "What do you see and hear?", image, audio: wav } }],
            }),
        });
        expect(composite.status, await composite.clone().text()).toBe(200);
        const body = await composite.json();
        expect(body.usage.prompt_tokens).toBeGreaterThan(12);
        expect(body.transcripts).toHaveLength(1); // what the speech model heard, beside the answer
        expect(typeof body.transcripts[0]).toBe("string");
        // Streamed: the role chunk comes before the transcription (the stream is open while the speech
        // model runs), then the transcript chunk, then the answer.
        const stream = await client.chat.completions.create({
            model: MODEL,
            max_tokens: 4,
            temperature: 0,
            stream: true,
            messages: [
                {
                    role: "user",
                    content: [
                        { type: "input_audio", input_audio: { data: wav, format: "wav" } },
                        { type: "text", text: "Answer it." },
                    ],
                },
            ],
        });
        const chunks: any[] = [];
        for await (const c of stream) chunks.push(c);
        expect(chunks[0].choices[0].delta.role).toBe("assistant");
        const heard = chunks.findIndex((c) => typeof c.transcript === "string");
        const finish = chunks.findIndex((c) => c.choices[0]?.finish_reason);
        expect(heard).toBeGreaterThan(0);
        expect(chunks[heard].choices).toEqual([]);
        expect(finish).toBeGreaterThan(heard);
    });

    it("LangChain ChatOpenAI, streaming with enable_thinking/return_reasoning: reasoning in additional_kwargs.reasoning_content, the answer in content", async () => {
        // The random-weight model never thinks by itself: llama-server's grammar extension makes it
        // write a <think> block first, so the routing of reasoning and answer is what is tested.
        const grammar = 'root ::= "<think>" [a-z ]{3,12} "</think>" [a-z]{2,8}';
        const llm = new ChatOpenAI({
            model: MODEL,
            apiKey: "EMPTY",
            configuration: { baseURL: `${server.url}/v1` },
            streaming: true,
            temperature: 0,
            maxTokens: 40,
            modelKwargs: { enable_thinking: true, return_reasoning: true, grammar },
        });
        let reasoning = "",
            content = "";
        for await (const chunk of await llm.stream("Who are you?")) {
            reasoning += (chunk.additional_kwargs.reasoning_content as string | undefined) ?? "";
            content += typeof chunk.content === "string" ? chunk.content : "";
        }
        expect(reasoning).toMatch(/^[a-z ]{3,12}$/);
        expect(content).toMatch(/^[a-z]{2,8}$/);
        // return_reasoning false: the thinking is generated but left out.
        const hidden = await fetch(`${server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
                model: MODEL,
                temperature: 0,
                max_tokens: 40,
                grammar,
                enable_thinking: true,
                return_reasoning: false,
                messages: [{ role: "user", content: "Who are you?" }],
            }),
        }).then((r) => r.json());
        expect(hidden.choices[0].message.reasoning_content).toBeUndefined();
        expect(hidden.choices[0].message.content).toBe(content);
    });

    it("--parallel 4: four concurrent greedy requests return what each returns alone", async () => {
        const prompts = ["Tell me a story.", "What is 2 + 2?", "Name three colours.", "Where is Paris?"];
        const alone = [];
        for (const p of prompts) alone.push((await ask(p)).choices[0]!.message.content);
        const together = await Promise.all(prompts.map((p) => ask(p)));
        expect(together.map((r) => r.choices[0]!.message.content)).toEqual(alone);
    });

    it("a conversation that resends its history reuses its slot's KV cache", async () => {
        const first = await ask("Remember the number seven.");
        const messages = [
            { role: "user" as const, content: "Remember the number seven." },
            { role: "assistant" as const, content: first.choices[0]!.message.content ?? "" },
            { role: "user" as const, content: "Which number?" },
        ];
        const r = await fetch(`${server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: MODEL, messages, ...greedy }),
        }).then((x) => x.json());
        expect(r.timings.cache_n).toBeGreaterThanOrEqual(first.usage!.prompt_tokens - 1);
        expect(r.timings.prompt_n).toBeLessThan(r.usage.prompt_tokens);
        expect(r.usage.prompt_tokens_details.cached_tokens).toBe(r.timings.cache_n); // what OpenAI clients read
    });

    it("a client that disconnects mid-stream frees its slot: the next request is served at once", async () => {
        const long = (signal: AbortSignal) =>
            fetch(`${server.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                signal,
                body: JSON.stringify({
                    model: MODEL,
                    stream: true,
                    max_tokens: 2000,
                    ignore_eos: true,
                    temperature: 0,
                    messages: [{ role: "user", content: "Go on forever." }],
                }),
            });
        const clients = Array.from({ length: 4 }, () => new AbortController());
        const responses = await Promise.all(clients.map((c) => long(c.signal)));
        // All four slots stream; one client hangs up after its first event.
        const reader = responses[0]!.body!.getReader();
        await reader.read();
        clients[0]!.abort();
        const t = performance.now();
        const next = await ask("Quick question?");
        const waited = performance.now() - t;
        expect(next.choices[0]!.message.role).toBe("assistant");
        // The other three are still streaming: the new request did not wait for them to finish.
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        expect(Number(/autoglm_slots_busy (\d+)/.exec(metrics)![1])).toBe(3);
        for (const c of clients.slice(1)) c.abort();
        for (const r of responses.slice(1)) await r.body?.cancel().catch(() => {});
        expect(waited).toBeLessThan(60_000);
        await until(async () => /autoglm_slots_busy 0/.test(await (await fetch(`${server.url}/metrics`)).text()));
    });

    it("hostile input: 500+ bad requests get only 4xx JSON errors, and a valid request is answered afterwards", async () => {
        const post = (
            body: string | Buffer,
            headers: Record<string, string> = { "content-type": "application/json" },
            path = "/v1/chat/completions",
        ) => fetch(`${server.url}${path}`, { method: "POST", headers, body: body as BodyInit, signal: AbortSignal.timeout(30_000) });
        const msg = (content: unknown) => JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: "user", content }] });
        const notImage = Buffer.from("this is plain text, not a picture").toString("base64");
        const cases: (() => Promise<Response>)[] = [
            () => post("{"),
            () => post("not json at all"),
            () => post("[]"),
            () => post("null"),
            () => post(JSON.stringify({})),
            () => post(JSON.stringify({ messages: [] })),
            () => post(JSON.stringify({ messages: "hi" })),
            () => post(JSON.stringify({ messages: [{ role: "wizard", content: "hi" }] })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: 42 }] })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: "12" })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: -1 })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], temperature: 9 })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], stream: "yes" })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], stop: [1, 2] })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], n: 17 })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], response_format: { type: "xml" } })),
            () => post(JSON.stringify({ messages: [{ role: "user", content: "hi" }], grammar: "root ::= (" })),
            () => post(msg([{ type: "image_url", image_url: { url: "data:image/png;base64,!!!notbase64!!!" } }])),
            () => post(msg([{ type: "image_url", image_url: { url: `data:image/png;base64,${notImage}` } }])),
            () => post(msg([{ type: "image_url", image_url: { url: "data:image/png;base64," } }])),
            () => post(msg([{ type: "image_url", image_url: { url: "http://169.254.169.254/latest/meta-data" } }])),
            () => post(msg([{ type: "image_url", image_url: { url: "/etc/passwd" } }])),
            () => post(msg([{ type: "image_url", image_url: { url: "file:///etc/passwd" } }])),
            () => post(msg([{ type: "image_url" }])),
            () => post(msg([{ type: "input_audio", input_audio: { data: notImage, format: "wav" } }])),
            () => post(msg([{ type: "input_audio", input_audio: { data: notImage, format: "mp3" } }])),
            () => post(msg([{ type: "video", text: "x" }])),
            () => post(msg({ image: notImage })),
            () => post(msg("word ".repeat(3000))), // longer than the 2048-token slot
            () => postHuge(`${server.url}/v1/chat/completions`, 40 * 2 ** 20), // over the 32 MiB body limit
            () => post(msg("hi"), { "content-type": "application/json", authorization: "Bearer wrong" }, "/v1/nope"),
            () => post("prompt=hi", { "content-type": "application/x-www-form-urlencoded" }),
            () => post(JSON.stringify({ prompt: 7 }), undefined, "/v1/completions"),
            () => post(JSON.stringify({ prompt: ["a", "b"] }), undefined, "/v1/completions"),
            () => post(JSON.stringify({ prompt: "" }), undefined, "/v1/completions"),
        ];
        let sent = 0;
        const failures: string[] = [];
        while (sent < 520) {
            const batch = cases.map((make, i) =>
                make()
                    .catch((e) => {
                        failures.push(`case ${i}: ${(e as Error).message}`);
                        return new Response("{}", { status: 499 });
                    })
                    .then(async (r) => {
                        const text = await r.text();
                        let body: { error?: { message?: string; type?: string } } = {};
                        try {
                            body = JSON.parse(text);
                        } catch {
                            /* checked below */
                        }
                        if (
                            r.status < 400 ||
                            r.status >= 500 ||
                            typeof body.error?.message !== "string" ||
                            typeof body.error?.type !== "string"
                        )
                            failures.push(`case ${i}: ${r.status} ${text.slice(0, 200)}`);
                    }),
            );
            await Promise.all(batch);
            sent += cases.length;
        }
        expect(failures).toEqual([]);
        const ok = await ask("Still there?");
        expect(ok.choices[0]!.message.role).toBe("assistant");
        expect(server.child.exitCode).toBeNull();
    });

    it("an API key is required when set: 401 without it or with a wrong one; /health stays open", async () => {
        const keyed = await startServer(["-m", files.text, "--api-key", "sekrit", "--ctx-size", "512"]);
        try {
            const call = (key?: string) => fetch(`${keyed.url}/v1/models`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
            expect((await call()).status).toBe(401);
            const wrong = await call("nope");
            expect(wrong.status).toBe(401);
            expect((await wrong.json()).error.type).toBe("authentication_error");
            expect((await call("sekrit")).status).toBe(200);
            expect((await call("sekritX")).status).toBe(401); // a longer key, same prefix
            expect((await fetch(`${keyed.url}/v1/models`, { headers: { authorization: "bearer sekrit" } })).status).toBe(200); // the scheme in any case
            expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
            const sdk = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: "sekrit" });
            const r = await sdk.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 3 });
            expect(r.usage!.completion_tokens).toBeGreaterThan(0);
        } finally {
            expect(await keyed.stop()).toBe(0);
        }
    });

    it("completions endpoint, streaming and not", async () => {
        const r = await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 6, temperature: 0 });
        expect(r.object).toBe("text_completion");
        const stream = await client.completions.create({
            model: MODEL,
            prompt: "Once upon a time",
            max_tokens: 6,
            temperature: 0,
            stream: true,
        });
        let text = "";
        for await (const c of stream) text += c.choices[0]?.text ?? "";
        expect(text).toBe(r.choices[0]!.text);
    });
});

/**
 * Declares a body over the limit and streams it until the server answers, as a careful client does:
 * the server refuses from the Content-Length alone (413) and does not read 40 MiB first.
 */
function postHuge(url: string, bytes: number): Promise<Response> {
    return new Promise((resolve, reject) => {
        const req = request(
            url,
            { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": bytes } },
            (res) => {
                let text = "";
                res.on("data", (d) => {
                    text += d;
                });
                res.on("end", () => resolve(new Response(text, { status: res.statusCode })));
            },
        );
        let answered = false;
        req.on("response", () => {
            answered = true;
        });
        // Writing may fail once the server has answered and stopped reading; no answer at all is the failure.
        req.on("error", () => {});
        req.on("close", () => {
            if (!answered) reject(new Error("the connection closed without an answer to the oversized body"));
        });
        req.setTimeout(30_000, () => req.destroy());
        const chunk = Buffer.alloc(1 << 20, 0x20);
        let sent = 0;
        const pump = () => {
            while (sent < bytes && !req.destroyed) {
                sent += chunk.length;
                if (!req.write(chunk)) {
                    req.once("drain", pump);
                    return;
                }
            }
            if (!req.destroyed) req.end();
        };
        pump();
    });
}

async function until(cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await cond())) {
        if (Date.now() > end) throw new Error("timed out");
        await new Promise((r) => setTimeout(r, 50));
    }
}
