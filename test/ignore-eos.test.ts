// ignore_eos (the server) and --ignore-eos (the CLI) on the demo model: every token that would end the
// answer is banned, as llama-server bans each end-of-generation token, so the answer runs to the token
// limit with finish_reason "length". (Before, the demo model's greedy answer to this prompt ended with
// "stop" after 19 tokens, on a token that ends GLM's turns.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { runCli } from "./helpers/cli.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { defaultModel } from "../models/default-model.js";

const PROMPT = "stream 0: tell a long story";
let demo: { text: string; vision: string };
let server: RunningServer;

beforeAll(async () => {
    demo = await defaultModel();
    server = await startServer(["-m", demo.text, "--ctx-size", "2048"]);
});

afterAll(async () => {
    if (server) expect(await server.stop(), server.stderr()).toBe(0);
});

describe("ignore_eos", () => {
    it("the server streams to max_tokens and finishes with length", async () => {
        const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none" });
        const body = { model: "demo", messages: [{ role: "user" as const, content: PROMPT }], temperature: 0, max_tokens: 64 };
        // Without it, the same greedy answer ends early: the figure the ban changes.
        const plain = await client.chat.completions.create(body);
        expect(plain.choices[0]!.finish_reason).toBe("stop");
        expect(plain.usage!.completion_tokens).toBeLessThan(64);
        const stream = await client.chat.completions.create({
            ...body,
            stream: true,
            stream_options: { include_usage: true },
            ignore_eos: true,
        } as never);
        let finish: string | null | undefined;
        let usage: { completion_tokens: number } | undefined;
        for await (const chunk of stream as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
            finish = chunk.choices[0]?.finish_reason ?? finish;
            if (chunk.usage) usage = chunk.usage;
        }
        expect(finish).toBe("length");
        expect(usage?.completion_tokens).toBe(64);
    });

    it("the CLI's --ignore-eos answers to -n tokens", async () => {
        const r = await runCli(["chat", "-m", demo.text, "--temp", "0", "-n", "64", "--ignore-eos", "--json"], { input: `${PROMPT}\n` });
        expect(r.code, r.stderr).toBe(0);
        const answer = JSON.parse(r.stdout.trim().split("\n").pop()!);
        expect(answer.stats).toMatchObject({ answerTokens: 64, reason: "length" });
        const without = await runCli(["chat", "-m", demo.text, "--temp", "0", "-n", "64", "--json"], { input: `${PROMPT}\n` });
        expect(JSON.parse(without.stdout.trim().split("\n").pop()!).stats.answerTokens).toBeLessThan(64);
    });
});
