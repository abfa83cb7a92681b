// What agent frameworks send, through the real clients against the real server on the random demo
// model: tools (named, required, auto, streamed, a result sent back), logprobs, n, logit_bias, seed,
// the Responses API, and LangChain's bindTools and withStructuredOutput. Forced tool choices and
// enum-typed arguments make the random model's answers parse; greedy decoding makes them repeat.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { readGguf } from "../src/core/gguf/reader.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";
import { GLM4_0414_LAYOUT } from "./helpers/templates.js";

const root = tempDir("serve-openai");
const MODEL = "autoglm-phone-9b";
let server: RunningServer;
let client: OpenAI;
let files: Record<string, string>;
let png: string;

const tools = [
    {
        type: "function" as const,
        function: {
            name: "get_weather",
            description: "The weather in a city",
            parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Tokyo"] } }, required: ["city"] },
        },
    },
    {
        type: "function" as const,
        function: {
            name: "get_time",
            description: "The time in a zone",
            parameters: { type: "object", properties: { zone: { type: "string", enum: ["UTC", "CET"] } }, required: ["zone"] },
        },
    },
];
const ask = [{ role: "user" as const, content: "What time is it?" }];

/** A byte-level BPE piece as the GGUF stores it (GPT-2's printable stand-ins for bytes) back to its bytes. */
function byteLevelBytes(piece: string): Buffer {
    const printable = [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174);
    const rest = [...Array(256).keys()].filter((b) => !printable.includes(b));
    const byChar = new Map<string, number>([
        ...printable.map((b) => [String.fromCharCode(b), b] as const),
        ...rest.map((b, i) => [String.fromCharCode(256 + i), b] as const),
    ]);
    return Buffer.from([...piece].map((c) => byChar.get(c) ?? 0));
}
const greedy = { model: MODEL, temperature: 0, max_tokens: 200 };

beforeAll(async () => {
    files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    png = join(root, "screen.png");
    await writeTestPng(png);
    server = await startServer(["-m", files.text, "--mmproj", files.vision, "--parallel", "4", "--ctx-size", "2048"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "EMPTY" });
});

afterAll(async () => {
    if (server) expect(await server.stop(), server.stderr()).toBe(0);
});

describe("tools in chat completions", () => {
    it("a named tool_choice: message.tool_calls with an id, the function's name and JSON arguments; finish_reason tool_calls", async () => {
        const r = await client.chat.completions.create({
            ...greedy,
            messages: ask,
            tools,
            tool_choice: { type: "function", function: { name: "get_time" } },
            parallel_tool_calls: false,
        });
        const c = r.choices[0]!;
        expect(c.finish_reason).toBe("tool_calls");
        expect(c.message.content).toBeNull();
        expect(c.message.tool_calls).toHaveLength(1);
        const call = c.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
        expect(call.id).toMatch(/^call_[0-9a-f]{24}$/);
        expect(call.type).toBe("function");
        expect(call.function.name).toBe("get_time");
        expect(["UTC", "CET"]).toContain(JSON.parse(call.function.arguments).zone);
    });

    it("tool_choice required with parallel_tool_calls false: exactly one call of a declared function", async () => {
        const r = await client.chat.completions.create({
            ...greedy,
            messages: ask,
            tools,
            tool_choice: "required",
            parallel_tool_calls: false,
        });
        const calls = r.choices[0]!.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
        expect(calls).toHaveLength(1);
        expect(["get_weather", "get_time"]).toContain(calls[0]!.function.name);
        expect(JSON.parse(calls[0]!.function.arguments)).toBeTypeOf("object");
    });

    it("streamed: delta.tool_calls (id, type and name, then the arguments) that the SDK accumulates to the unstreamed call", async () => {
        const body = {
            ...greedy,
            messages: ask,
            tools,
            tool_choice: { type: "function" as const, function: { name: "get_time" } },
            parallel_tool_calls: false,
        };
        const plain = await client.chat.completions.create(body);
        const want = (plain.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function;
        const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
        let finish: string | null = null;
        for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) {
            deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
            finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        expect(deltas[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_time", arguments: "" } });
        expect(deltas[0]!.id).toMatch(/^call_/);
        expect(deltas.map((d) => d.function?.arguments ?? "").join("")).toBe(want.arguments);
        expect(finish).toBe("tool_calls");
        const final = await client.chat.completions.stream(body).finalChatCompletion();
        expect((final.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function).toEqual(want);
    });

    it("a tool result (role tool, tool_call_id) is rendered back; auto and none answer in text", async () => {
        const call = { id: "call_1", type: "function" as const, function: { name: "get_time", arguments: '{"zone":"UTC"}' } };
        const conversation = (result: string): OpenAI.ChatCompletionMessageParam[] => [
            ...ask,
            { role: "assistant", content: null, tool_calls: [call] },
            { role: "tool", tool_call_id: "call_1", content: result },
        ];
        const short = await client.chat.completions.create({ ...greedy, max_tokens: 6, messages: conversation("12:00"), tools });
        const long = await client.chat.completions.create({
            ...greedy,
            max_tokens: 6,
            messages: conversation(`12:00 ${"and so on ".repeat(20)}`),
            tools,
        });
        expect(typeof short.choices[0]!.message.content).toBe("string");
        expect(long.usage!.prompt_tokens - short.usage!.prompt_tokens).toBeGreaterThanOrEqual(100);
        const none = await client.chat.completions.create({
            ...greedy,
            max_tokens: 6,
            messages: conversation("12:00"),
            tools,
            tool_choice: "none",
        });
        expect(none.choices[0]!.message.tool_calls).toBeUndefined();
        expect(none.usage!.prompt_tokens).toBeLessThan(short.usage!.prompt_tokens); // the tools are not described
    });

    it("auto: a call the model writes is parsed (streamed too); a broken one stays text, never a 500", async () => {
        // llama-server's grammar extension makes the random model write the answer under test.
        const written = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]}';
        const grammar = (text: string) => `root ::= ${JSON.stringify(text)}`;
        const body = { ...greedy, messages: ask, tools, grammar: grammar(written) } as OpenAI.ChatCompletionCreateParamsNonStreaming;
        const r = await client.chat.completions.create(body);
        const call = r.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
        expect(call.function).toEqual({ name: "get_weather", arguments: '{"city":"Tokyo"}' });
        expect(r.choices[0]!.finish_reason).toBe("tool_calls");
        const streamed = await client.chat.completions.stream(body as never).finalChatCompletion();
        expect((streamed.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function).toEqual(
            call.function,
        );
        for (const broken of [
            '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "To',
            '{"tool_calls": [{"name": "get_nothing", "arguments": {}}]}',
        ]) {
            const t = await client.chat.completions.create({ ...body, grammar: grammar(broken) } as never);
            expect((t as OpenAI.ChatCompletion).choices[0]!.message).toMatchObject({ content: broken });
            expect((t as OpenAI.ChatCompletion).choices[0]!.message.tool_calls).toBeUndefined();
        }
    });

    it("refusals are 400s: a named function not among the tools, a grammar with a required call, a tool without a name", async () => {
        const bad = [
            { tools, tool_choice: { type: "function", function: { name: "nope" } } },
            { tools, tool_choice: "required", grammar: 'root ::= "x"' },
            { tools: [{ type: "function", function: { description: "no name" } }] },
        ];
        for (const extra of bad) {
            const r = await fetch(`${server.url}/v1/chat/completions`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ messages: ask, max_tokens: 4, ...extra }),
            });
            expect(r.status).toBe(400);
        }
    });
});

describe("logprobs, n, logit_bias and seed", () => {
    it("logprobs with top_logprobs: every answer token with its bytes, in the SDK's shape, streamed the same", async () => {
        const body = {
            ...greedy,
            max_tokens: 12,
            messages: [{ role: "user" as const, content: "Hello" }],
            logprobs: true,
            top_logprobs: 3,
        };
        const r = await client.chat.completions.create(body);
        const lp = r.choices[0]!.logprobs!.content!;
        expect(lp).toHaveLength(r.usage!.completion_tokens);
        for (const t of lp) {
            expect(t.logprob).toBeLessThanOrEqual(0);
            expect(t.top_logprobs).toHaveLength(3);
            expect(t.top_logprobs.map((a) => a.logprob)).toEqual([...t.top_logprobs.map((a) => a.logprob)].sort((a, b) => b - a));
            // Greedy: the sampled token is the most likely one of the model's distribution.
            expect(t.top_logprobs[0]!.logprob).toBe(t.logprob);
            expect(t.top_logprobs[0]!.bytes).toEqual(t.bytes);
        }
        expect(
            Buffer.from(lp.flatMap((t) => t.bytes!))
                .toString("utf8")
                .trim(),
        ).toBe(r.choices[0]!.message.content);
        const streamed = await client.chat.completions.stream(body).finalChatCompletion();
        expect(streamed.choices[0]!.logprobs!.content).toEqual(lp);
        const refused = await fetch(`${server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ messages: ask, top_logprobs: 2 }),
        });
        expect(refused.status).toBe(400);
    });

    it("n: choices from one prompt evaluation; greedy choices equal the single answer (the prompt's cells were copied right)", async () => {
        const body = { ...greedy, max_tokens: 10, messages: [{ role: "user" as const, content: "Tell me a story about a cat." }] };
        const one = await client.chat.completions.create(body);
        const three = await client.chat.completions.create({ ...body, n: 3 });
        expect(three.choices.map((c) => c.index)).toEqual([0, 1, 2]);
        for (const c of three.choices) expect(c.message.content).toBe(one.choices[0]!.message.content);
        expect(three.usage!.prompt_tokens).toBe(one.usage!.prompt_tokens);
        expect(three.usage!.completion_tokens).toBe(3 * one.usage!.completion_tokens);
    });

    it("n=2 sampled with a seed: the choices differ, the same seed repeats them, streamed with their indexes", async () => {
        const body = {
            model: MODEL,
            max_tokens: 10,
            temperature: 1.5,
            top_k: 0,
            top_p: 1,
            min_p: 0,
            seed: 42,
            n: 2,
            messages: ask,
        } as OpenAI.ChatCompletionCreateParamsNonStreaming;
        const a = await client.chat.completions.create(body);
        const b = await client.chat.completions.create(body);
        expect(a.choices.map((c) => c.message.content)).toEqual(b.choices.map((c) => c.message.content));
        expect(a.choices[0]!.message.content).not.toBe(a.choices[1]!.message.content);
        const seen: number[] = [];
        const text = ["", ""];
        for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) {
            for (const c of chunk.choices) {
                if (c.delta.role) seen.push(c.index);
                text[c.index] += c.delta.content ?? "";
            }
        }
        expect(seen.sort()).toEqual([0, 1]);
        expect(text.map((t) => t.trim())).toEqual(a.choices.map((c) => c.message.content));
    });

    it("logit_bias: +100 makes a token the only choice, -100 bans it (greedy then takes the runner-up)", async () => {
        const vocab = (await readGguf(files.text)).metadata.get("tokenizer.ggml.tokens");
        const pieces = (vocab && "values" in vocab ? (vocab.values as string[]) : []).map(byteLevelBytes);
        const body = { ...greedy, max_tokens: 4, messages: ask, logprobs: true, top_logprobs: 2 };
        const plain = await client.chat.completions.create(body);
        const first = plain.choices[0]!.logprobs!.content![0]!;
        const id = pieces.findIndex((p) => p.equals(Buffer.from(first.bytes!)));
        expect(id).toBeGreaterThanOrEqual(0);
        const banned = await client.chat.completions.create({ ...body, logit_bias: { [id]: -100 } });
        expect(banned.choices[0]!.logprobs!.content![0]!.token).toBe(first.top_logprobs[1]!.token);
        const forced = await client.chat.completions.create({ ...body, logit_bias: { [id]: 100 } });
        expect(forced.choices[0]!.logprobs!.content!.map((t) => t.token)).toEqual(Array(4).fill(first.token));
        const outside = await fetch(`${server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ messages: ask, logit_bias: { [pieces.length]: 5 } }),
        });
        expect(outside.status).toBe(400);
    });

    it("seed: the same seed gives the same sampled answer; -1 is a random seed", async () => {
        const body = {
            model: MODEL,
            max_tokens: 12,
            temperature: 1.5,
            top_k: 0,
            top_p: 1,
            min_p: 0,
            messages: ask,
        } as OpenAI.ChatCompletionCreateParamsNonStreaming;
        const a = await client.chat.completions.create({ ...body, seed: 7 });
        const b = await client.chat.completions.create({ ...body, seed: 7 });
        expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
        expect((await client.chat.completions.create({ ...body, seed: -1 })).choices).toHaveLength(1);
    });
});

describe("the Responses API", () => {
    const functionTools = tools.map((t) => ({ type: "function" as const, ...t.function, strict: false }));

    it("responses.create: instructions, max_output_tokens cut: status incomplete with incomplete_details; the same text streamed", async () => {
        const body = { model: MODEL, input: "Hello there", instructions: "Answer briefly.", max_output_tokens: 6, temperature: 0 };
        const r = await client.responses.create(body);
        expect(r.object).toBe("response");
        expect(r.status).toBe("incomplete");
        expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
        expect(r.output.at(-1)).toMatchObject({ type: "message", role: "assistant", status: "completed" });
        expect(r.usage!.output_tokens).toBe(6);
        const events: OpenAI.Responses.ResponseStreamEvent[] = [];
        for await (const e of await client.responses.create({ ...body, stream: true })) events.push(e);
        expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
        const types = events.map((e) => e.type).filter((t, i, all) => t !== all[i - 1]);
        expect(types).toEqual([
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.incomplete",
        ]);
        const final = await client.responses.stream(body).finalResponse();
        expect(final.output_text).toBe(r.output_text);
    });

    it("function tools: a function_call item (streamed as function_call_arguments events), a result sent back with previous_response_id", async () => {
        const body = {
            model: MODEL,
            input: "What time is it?",
            tools: functionTools,
            tool_choice: { type: "function" as const, name: "get_time" },
            parallel_tool_calls: false,
            temperature: 0,
            max_output_tokens: 200,
        };
        const r = await client.responses.create(body);
        expect(r.status).toBe("completed");
        const call = r.output.find((o) => o.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
        expect(call).toMatchObject({ name: "get_time", status: "completed" });
        expect(call.call_id).toMatch(/^call_/);
        const events: string[] = [];
        let args = "";
        for await (const e of await client.responses.create({ ...body, stream: true })) {
            events.push(e.type);
            if (e.type === "response.function_call_arguments.delta") args += e.delta;
            if (e.type === "response.function_call_arguments.done") expect(e.arguments).toBe(args);
        }
        expect(args).toBe(call.arguments);
        expect(events).toContain("response.output_item.added");
        expect(events.at(-1)).toBe("response.completed");
        const next = await client.responses.create({
            model: MODEL,
            previous_response_id: r.id,
            input: [{ type: "function_call_output", call_id: call.call_id, output: "12:00" }],
            tools: functionTools,
            temperature: 0,
            max_output_tokens: 4,
        });
        // The slot that answered still holds the conversation: only the result and the new turn are evaluated.
        expect(next.usage!.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(r.usage!.input_tokens);
    });

    it("previous_response_id continues from the KV cache; an unknown id is a 404; GET and DELETE a kept response", async () => {
        const first = await client.responses.create({ model: MODEL, input: "One.", temperature: 0, max_output_tokens: 5 });
        const second = await client.responses.create({
            model: MODEL,
            input: "Two.",
            previous_response_id: first.id,
            temperature: 0,
            max_output_tokens: 5,
        });
        expect(second.usage!.input_tokens_details.cached_tokens).toBe(first.usage!.input_tokens + first.usage!.output_tokens - 1);
        expect(second.previous_response_id).toBe(first.id);
        await expect(client.responses.create({ model: MODEL, input: "x", previous_response_id: "resp_gone" })).rejects.toMatchObject({
            status: 404,
            code: "previous_response_not_found",
        });
        expect((await client.responses.retrieve(first.id)).id).toBe(first.id);
        await client.responses.delete(first.id);
        await expect(client.responses.retrieve(first.id)).rejects.toMatchObject({ status: 404 });
    });

    it("input items with an image", async () => {
        const url = `data:image/png;base64,${readFileSync(png).toString("base64")}`;
        const text = await client.responses.create({
            model: MODEL,
            input: [{ role: "user", content: [{ type: "input_text", text: "Describe." }] }],
            temperature: 0,
            max_output_tokens: 3,
        });
        const image = await client.responses.create({
            model: MODEL,
            input: [
                {
                    role: "user",
                    content: [
                        { type: "input_image", image_url: url, detail: "auto" },
                        { type: "input_text", text: "Describe." },
                    ],
                },
            ],
            temperature: 0,
            max_output_tokens: 3,
        });
        expect(image.usage!.input_tokens).toBeGreaterThanOrEqual(text.usage!.input_tokens + 12); // 4 x 3 image embeddings
    });
});

describe("LangChain", () => {
    const llm = () =>
        new ChatOpenAI({ model: MODEL, apiKey: "EMPTY", configuration: { baseURL: `${server.url}/v1` }, temperature: 0, maxTokens: 200 });
    const getTime = tool(async ({ zone }) => `12:00 ${zone}`, {
        name: "get_time",
        description: "The time in a zone",
        schema: z.object({ zone: z.enum(["UTC", "CET"]) }),
    });

    it("bindTools(...).invoke gives tool_calls", async () => {
        const m = await llm().bindTools([getTime], { tool_choice: "get_time", parallel_tool_calls: false }).invoke("What time is it?");
        expect(m.tool_calls).toHaveLength(1);
        expect(m.tool_calls![0]!.name).toBe("get_time");
        expect(["UTC", "CET"]).toContain(m.tool_calls![0]!.args.zone);
        // The result goes back as a ToolMessage and the model answers.
        const result = await getTime.invoke(m.tool_calls![0]!);
        const answer = await llm()
            .bindTools([getTime])
            .invoke([["human", "What time is it?"], m, result]);
        expect(typeof answer.content).toBe("string");
    });

    it("withStructuredOutput: JSON schema (the default) and function calling", async () => {
        const schema = z.object({ city: z.enum(["Paris", "Tokyo"]) });
        for (const method of ["jsonSchema", "functionCalling"] as const) {
            const out = await llm().withStructuredOutput(schema, { method }).invoke("Which city?");
            expect(["Paris", "Tokyo"]).toContain(out.city);
        }
    });
});

describe("a template in GLM-4-0414's layout (its own tool section)", () => {
    let glm4: RunningServer;
    let c: OpenAI;
    beforeAll(async () => {
        const dir = await synthesize(join(root, "glm4"), "glm4");
        const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
        writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ ...config, chat_template: GLM4_0414_LAYOUT }));
        const out = (await convert(dir, join(root, "glm4-out"), ["--outtype", "q8_0"])).files;
        glm4 = await startServer(["-m", out.text, "--ctx-size", "2048"]);
        c = new OpenAI({ baseURL: `${glm4.url}/v1`, apiKey: "EMPTY" });
    });
    afterAll(async () => {
        if (glm4) expect(await glm4.stop(), glm4.stderr()).toBe(0);
    });

    it("a named call is written as GLM-4 does (name line, JSON arguments) and parsed; streamed alike", async () => {
        const body = { ...greedy, messages: ask, tools, tool_choice: { type: "function" as const, function: { name: "get_weather" } } };
        const r = await c.chat.completions.create(body);
        const call = r.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
        expect(call.function.name).toBe("get_weather");
        expect(["Paris", "Tokyo"]).toContain(JSON.parse(call.function.arguments).city);
        const s = await c.chat.completions.stream(body).finalChatCompletion();
        expect((s.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function).toEqual(call.function);
        // auto: the same text written by the model is read as a call.
        const auto = await c.chat.completions.create({
            ...greedy,
            messages: ask,
            tools,
            grammar: `root ::= ${JSON.stringify('get_time\n{"zone": "CET"}')}`,
        } as never);
        expect(
            ((auto as OpenAI.ChatCompletion).choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function,
        ).toEqual({
            name: "get_time",
            arguments: '{"zone": "CET"}',
        });
    });
});
