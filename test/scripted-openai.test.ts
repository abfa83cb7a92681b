// The scripted OpenAI-compatible stand-in (test/helpers/scripted-openai.ts) that the agent's --url
// tests will drive, checked on its own with the openai SDK: Open-AutoGLM's streamed request gets
// the scripted raw text back piece by piece, every body is recorded, a non-streamed request (the
// model check) is answered whole, and errors are OpenAI-shaped.
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { type ScriptedOpenAI, startScriptedOpenAI } from "./helpers/scripted-openai.js";

let server: ScriptedOpenAI | undefined;
afterEach(async () => {
    await server?.close();
    server = undefined;
});

const RAW = '<think>点击"搜索"框。</think>\n<answer>do(action="Tap", element=[500,100])</answer>';

describe("scripted OpenAI-compatible server", () => {
    it("streams each scripted output as chat completion chunks and records the requests, in order", async () => {
        server = await startScriptedOpenAI([RAW, 'finish(message="完成")'], { apiKey: "k" });
        const client = new OpenAI({ baseURL: server.url, apiKey: "k", maxRetries: 0 });
        const messages: OpenAI.ChatCompletionMessageParam[] = [
            { role: "system", content: "prompt" },
            {
                role: "user",
                content: [
                    { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
                    { type: "text", text: 'task\n\n{"current_app": "微信"}' },
                ],
            },
        ];
        // Exactly Open-AutoGLM's request (model/client.py).
        const request = {
            messages,
            model: "autoglm-phone-9b",
            max_tokens: 3000,
            temperature: 0,
            top_p: 0.85,
            frequency_penalty: 0.2,
            stream: true as const,
        };
        const stream = await client.chat.completions.create(request);
        const pieces: string[] = [];
        let finish: string | null = null;
        for await (const chunk of stream) {
            if (chunk.choices.length === 0) continue;
            if (chunk.choices[0]!.delta.content) pieces.push(chunk.choices[0]!.delta.content);
            finish = chunk.choices[0]!.finish_reason ?? finish;
        }
        expect(pieces.join("")).toBe(RAW);
        expect(pieces.length).toBeGreaterThan(10); // arrived in pieces, markers split across them
        expect(finish).toBe("stop");
        expect(server.bodies[0]).toEqual(request);
        expect(server.headers[0]!.authorization).toBe("Bearer k");

        // A second turn with usage asked for; then the script is used up.
        const second = await client.chat.completions.create({
            messages,
            model: "autoglm-phone-9b",
            stream: true,
            stream_options: { include_usage: true },
        });
        let text = "";
        let usage: OpenAI.CompletionUsage | undefined;
        for await (const chunk of second) {
            text += chunk.choices[0]?.delta.content ?? "";
            usage = chunk.usage ?? usage;
        }
        expect(text).toBe('finish(message="完成")');
        expect(usage?.completion_tokens).toBe([...'finish(message="完成")'].length);
        expect(server.remaining()).toBe(0);
        await expect(client.chat.completions.create({ messages, model: "m" })).rejects.toMatchObject({ status: 500 });
    });

    it("answers a request that does not stream whole, with finish_reason length when scripted", async () => {
        server = await startScriptedOpenAI([{ raw: "Hello", finish: "length" }]);
        const client = new OpenAI({ baseURL: server.url, apiKey: "EMPTY", maxRetries: 0 });
        // Open-AutoGLM's check_model_api.
        const r = await client.chat.completions.create({
            model: "autoglm-phone-9b",
            messages: [{ role: "user", content: "Hi" }],
            max_tokens: 5,
            temperature: 0,
            stream: false,
        });
        expect(r.choices[0]!.message.content).toBe("Hello");
        expect(r.choices[0]!.finish_reason).toBe("length");
        expect((await client.models.list()).data.map((m) => m.id)).toEqual(["autoglm-phone-9b"]);
    });

    it("replies with scripted HTTP errors and refuses a wrong key", async () => {
        server = await startScriptedOpenAI([{ status: 503, message: "overloaded" }], { apiKey: "right" });
        const good = new OpenAI({ baseURL: server.url, apiKey: "right", maxRetries: 0 });
        await expect(good.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
            status: 503,
            message: expect.stringContaining("overloaded"),
        });
        const bad = new OpenAI({ baseURL: server.url, apiKey: "wrong", maxRetries: 0 });
        await expect(bad.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
            status: 401,
        });
        expect(server.bodies).toHaveLength(1);
    });
});
