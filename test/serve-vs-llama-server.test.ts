// The same OpenAI requests, through the same SDK, to `autoglm serve` and to llama.cpp's llama-server
// (--jinja) on the same GGUF: where the two agree (greedy text, log-probabilities, logit_bias, n,
// seed, the Responses API's events) the test says so; where they differ, it pins the difference that
// docs/server-contract.md lists ("autoglm, llama-server and vLLM field by field").
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLlamaServer, type RunningLlamaServer } from "./helpers/llama-server.js";
import { convert, synthesize } from "./helpers/models.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("serve-vs-llama-server");
let ours: RunningServer;
let theirs: RunningLlamaServer;
let servers: [string, OpenAI][];

// llama-server renders GLM's template with enable_thinking false unless told; both are told the same.
const same = { model: "m", temperature: 0, chat_template_kwargs: { enable_thinking: false } } as const;
const ask = [{ role: "user" as const, content: "Hello there" }];

beforeAll(async () => {
    const files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    ours = await startServer(["-m", files.text, "--parallel", "4", "--ctx-size", "2048"]);
    theirs = await startLlamaServer(["-m", files.text, "--jinja", "-np", "4", "-c", "8192"]);
    servers = [
        ["autoglm", new OpenAI({ baseURL: `${ours.url}/v1`, apiKey: "EMPTY" })],
        ["llama-server", new OpenAI({ baseURL: `${theirs.url}/v1`, apiKey: "EMPTY" })],
    ];
});

afterAll(async () => {
    await theirs?.stop();
    if (ours) expect(await ours.stop(), ours.stderr()).toBe(0);
});

/** Each server's answer to the same request. */
async function both<T>(request: (client: OpenAI) => Promise<T>): Promise<[T, T]> {
    return [await request(servers[0]![1]), await request(servers[1]![1])];
}

type Logprob = OpenAI.ChatCompletionTokenLogprob;

/**
 * llama-server sends a token whose bytes end inside a UTF-8 character together with the next one, as
 * one entry (the later token's logprob); autoglm gives each token its own entry with its bytes. The
 * entries are matched by their bytes.
 */
function aligned(mine: Logprob[], reference: Logprob[]): [Logprob[], Logprob][] {
    const out: [Logprob[], Logprob][] = [];
    let i = 0;
    for (const r of reference) {
        const group: Logprob[] = [];
        const want = Buffer.from(r.bytes!);
        while (i < mine.length && Buffer.concat(group.map((g) => Buffer.from(g.bytes!))).length < want.length) group.push(mine[i++]!);
        expect(Buffer.concat(group.map((g) => Buffer.from(g.bytes!)))).toEqual(want);
        out.push([group, r]);
    }
    expect(i).toBe(mine.length);
    return out;
}

describe("autoglm serve beside llama-server on the same GGUF", () => {
    it("greedy text and log-probabilities (both the softmax of the model's logits, before the sampler chain) agree", async () => {
        const body = { ...same, messages: ask, max_tokens: 10, logprobs: true, top_logprobs: 3 };
        const [a, l] = await both((c) => c.chat.completions.create(body));
        expect(a.choices[0]!.message.content).toBe(l.choices[0]!.message.content);
        expect(a.usage!.prompt_tokens).toBe(l.usage!.prompt_tokens);
        const mine = a.choices[0]!.logprobs!.content!;
        expect(mine).toHaveLength(a.usage!.completion_tokens);
        for (const [group, r] of aligned(mine, l.choices[0]!.logprobs!.content!)) {
            expect(group.at(-1)!.logprob).toBeCloseTo(r.logprob, 3);
            if (group.length === 1)
                expect(group[0]!.top_logprobs.map((t) => t.logprob)).toEqual(r.top_logprobs.map((t) => expect.closeTo(t.logprob, 3)));
        }
    });

    it("logit_bias: +100 forces a token on both; -100 bans it on both (llama-server adds -100; autoglm bans outright)", async () => {
        const body = { ...same, messages: ask, max_tokens: 3, logprobs: true, top_logprobs: 2 };
        const [plain] = await both((c) => c.chat.completions.create(body));
        const first = plain.choices[0]!.logprobs!.content![0]!;
        // llama-server's logprobs name the token id: the bias is aimed at it on both servers.
        const id = ((await servers[1]![1].chat.completions.create(body)).choices[0]!.logprobs!.content![0] as unknown as { id: number }).id;
        const [ba, bl] = await both((c) => c.chat.completions.create({ ...body, logit_bias: { [id]: -100 } }));
        expect(ba.choices[0]!.logprobs!.content![0]!.token).toBe(first.top_logprobs[1]!.token);
        expect(bl.choices[0]!.logprobs!.content![0]!.token).toBe(first.top_logprobs[1]!.token);
        const [fa, fl] = await both((c) => c.chat.completions.create({ ...body, logit_bias: { [id]: 100 } }));
        expect(fa.choices[0]!.message.content).toBe(fl.choices[0]!.message.content);
        expect(fa.choices[0]!.logprobs!.content!.map((t) => t.token)).toEqual(Array(3).fill(first.token));
    });

    it("n=2: two choices on both; usage counts both answers on autoglm (OpenAI's), one on llama-server", async () => {
        const body = { ...same, messages: ask, max_tokens: 6, n: 2 };
        const [a, l] = await both((c) => c.chat.completions.create(body));
        expect(a.choices.map((c) => c.message.content)).toEqual(l.choices.map((c) => c.message.content));
        expect(a.usage!.completion_tokens).toBe(2 * 6);
        expect(l.usage!.completion_tokens).toBe(6);
    });

    it("a seed repeats a sampled answer on each server", async () => {
        const body = {
            ...same,
            temperature: 1.5,
            top_k: 0,
            top_p: 1,
            min_p: 0,
            seed: 11,
            messages: ask,
            max_tokens: 8,
        } as OpenAI.ChatCompletionCreateParamsNonStreaming;
        for (const [, c] of servers) {
            const [x, y] = [await c.chat.completions.create(body), await c.chat.completions.create(body)];
            expect(y.choices[0]!.message.content).toBe(x.choices[0]!.message.content);
        }
    });

    it("tools with a template that has no tool section: autoglm describes them and forces the call; llama-server ignores them", async () => {
        const tools = [
            {
                type: "function" as const,
                function: {
                    name: "get_weather",
                    parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Tokyo"] } } },
                },
            },
        ];
        const body = { ...same, messages: ask, max_tokens: 120, tools, tool_choice: "required" as const, parallel_tool_calls: false };
        const [a, l] = await both((c) => c.chat.completions.create(body));
        expect(a.choices[0]!.finish_reason).toBe("tool_calls");
        expect(a.choices[0]!.message.tool_calls).toHaveLength(1);
        expect(l.choices[0]!.message.tool_calls ?? []).toEqual([]);
        const [plain] = await both((c) => c.chat.completions.create({ ...same, messages: ask, max_tokens: 1 }));
        expect(l.usage!.prompt_tokens).toBe(plain.usage!.prompt_tokens); // the tools are not in llama-server's prompt
    });

    it("the Responses API: the same text and the same event types; a max_output_tokens cut is incomplete on autoglm, completed on llama-server", async () => {
        const body = {
            model: "m",
            input: "Hello there",
            max_output_tokens: 6,
            temperature: 0,
            chat_template_kwargs: { enable_thinking: false },
        };
        const [a, l] = await both((c) => c.responses.create(body));
        expect(a.output_text).toBe(l.output_text);
        expect(a.status).toBe("incomplete");
        expect(a.incomplete_details).toEqual({ reason: "max_output_tokens" });
        expect(l.status).toBe("completed");
        const kinds = async (c: OpenAI) => {
            const types: string[] = [];
            for await (const e of await c.responses.create({ ...body, stream: true })) types.push(e.type);
            return types.filter((t, i) => t !== types[i - 1]);
        };
        const [ea, el] = await both(kinds);
        expect(ea.slice(0, -1)).toEqual(el.slice(0, -1));
        expect([ea.at(-1), el.at(-1)]).toEqual(["response.incomplete", "response.completed"]);
    });
});
