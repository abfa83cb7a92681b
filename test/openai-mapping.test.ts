// The server's two mappings without a server: an OpenAI body as a turn (thinking, grammar, limits,
// messages and their media sources), and every engine error as the HTTP status and code it answers with.
import { describe, expect, it } from "vitest";
import { ResourceLoadError, UserError } from "../src/core/errors.js";
import {
    CancelledError,
    ContextOverflowError,
    GrammarError,
    InvalidMediaError,
    InvalidRequestError,
    QueueFullError,
    ShuttingDownError,
    TooManyMediaError,
    UnsupportedMediaError,
} from "../src/engine/errors.js";
import { ApiError, toApiError } from "../src/server/errors.js";
import { chatTurn, completionTurn } from "../src/server/openai-request.js";
import { ChatCompletion } from "../src/server/openai-response.js";
import type { TurnResult } from "../src/engine/turn.js";

const sources = { allowRemote: false, allowLocal: false, maxRemoteBytes: 1 };
const user = (content: unknown) => ({ messages: [{ role: "user" as const, content: content as string }] });

describe("an OpenAI body as a turn", () => {
    it("reasoning_format: none keeps the raw text; deepseek splits; auto splits only for a client that speaks of thinking", () => {
        expect(chatTurn(user("hi"), sources, "auto")).toMatchObject({ request: { splitThinking: false }, returnReasoning: false });
        expect(chatTurn({ ...user("hi"), enable_thinking: true }, sources, "auto")).toMatchObject({
            request: { splitThinking: true, enableThinking: true },
            returnReasoning: true,
        });
        expect(chatTurn({ ...user("hi"), return_reasoning: false }, sources, "auto")).toMatchObject({
            request: { splitThinking: true },
            returnReasoning: false,
        });
        expect(chatTurn(user("hi"), sources, "deepseek").request.splitThinking).toBe(true);
        expect(chatTurn({ ...user("hi"), reasoning_format: "none" }, sources, "deepseek").request.splitThinking).toBe(false);
        expect(chatTurn({ ...user("hi"), chat_template_kwargs: { enable_thinking: false } }, sources, "none").request.enableThinking).toBe(
            false,
        );
    });

    it("sampler fields, limits, stop strings and the grammar (llama-server's grammar before response_format)", () => {
        const { request } = chatTurn(
            {
                ...user("hi"),
                temperature: 0,
                top_k: 3,
                seed: null,
                max_tokens: 9,
                max_completion_tokens: 7,
                stop: "END",
                ignore_eos: true,
                grammar: 'root ::= "x"',
                response_format: { type: "json_object" },
            },
            sources,
            "auto",
        );
        expect(request).toMatchObject({ maxTokens: 7, stop: ["END"], ignoreEos: true, grammar: { gbnf: 'root ::= "x"' } });
        expect(request.sampling).toMatchObject({ temperature: 0, topK: 3, seed: undefined });
        expect(chatTurn({ ...user("hi"), response_format: { type: "json_object" } }, sources, "auto").request.grammar).toEqual({
            json: true,
        });
        expect(
            chatTurn(
                { ...user("hi"), response_format: { type: "json_schema", json_schema: { schema: { type: "string" } } } },
                sources,
                "auto",
            ).request.grammar,
        ).toEqual({ jsonSchema: { type: "string" } });
        expect(chatTurn({ ...user("hi"), response_format: { type: "text" } }, sources, "auto").request.grammar).toBeUndefined();
        expect(completionTurn({ prompt: ["once upon"], max_tokens: 3 })).toMatchObject({ prompt: "once upon", maxTokens: 3, stop: [] });
    });

    it("messages: roles mapped, parts in order, the composite input media first; media read only when the turn loads them", async () => {
        const b64 = Buffer.from("not really a png").toString("base64");
        const { request } = chatTurn(
            {
                messages: [
                    { role: "developer", content: "be brief" },
                    { role: "tool", content: "result" },
                    { role: "assistant", content: null },
                    { role: "user", content: { text: "what?", image: b64 } },
                    {
                        role: "user",
                        content: [
                            { type: "text", text: "and" },
                            { type: "image_url", image_url: { url: "https://example.com/x.png" } },
                        ],
                    },
                ],
            },
            sources,
            "auto",
        );
        const m = request.messages!;
        expect(m.map((x) => x.role)).toEqual(["system", "observation", "assistant", "user", "user"]);
        expect(m[2]!.content).toBe("");
        const composite = m[3]!.content as { type: string; source?: { load: (s: AbortSignal) => Promise<Buffer> } }[];
        expect(composite.map((p) => p.type)).toEqual(["image", "text"]);
        expect(await composite[0]!.source!.load(new AbortController().signal)).toEqual(Buffer.from("not really a png"));
        // A remote URL is refused by this server's policy when loaded, not when the body is read.
        const remote = (m[4]!.content as { source?: { load: (s: AbortSignal) => Promise<Buffer> } }[])[1]!.source!;
        await expect(remote.load(new AbortController().signal)).rejects.toMatchObject({ status: 400, code: "remote_media_refused" });
        expect(() => chatTurn(user([{ type: "image_url" }]), sources, "auto")).toThrow(/needs image_url\.url/);
        expect(() => chatTurn({ messages: [{ role: "user" }] }, sources, "auto")).toThrow(/a user message needs content/);
    });

    it("a result as a response: finish_reason, usage, llama-server timings, reasoning only when asked", () => {
        const r: TurnResult = {
            content: "ok",
            reasoning: "hmm",
            raw: "<think>hmm</think>ok",
            finish: "aborted",
            contextFull: false,
            usage: { promptTokens: 30, cachedTokens: 10, completionTokens: 5 },
            timings: { firstTokenMs: 50, promptMs: 40, encodeMs: 0, decodeMs: 100 },
            media: [],
        };
        const body = new ChatCompletion("m").body(r, false, ["heard"]);
        expect(body.choices[0]!).toEqual({
            index: 0,
            message: { role: "assistant", content: "ok" },
            logprobs: null,
            finish_reason: "stop",
        });
        expect(body.usage).toEqual({
            prompt_tokens: 30,
            completion_tokens: 5,
            total_tokens: 35,
            prompt_tokens_details: { cached_tokens: 10 },
        });
        expect(body.timings).toMatchObject({ cache_n: 10, prompt_n: 20, prompt_per_second: 500, predicted_n: 5, predicted_per_second: 40 });
        expect(body.transcripts).toEqual(["heard"]);
        expect(new ChatCompletion("m").body({ ...r, finish: "length" }, true, []).choices[0]!.message).toEqual({
            role: "assistant",
            content: "ok",
            reasoning_content: "hmm",
        });
    });
});

describe("engine errors as API errors", () => {
    it("each typed refusal keeps its OpenAI code and gets its status; autoglm's own faults are a 500 that shows no detail", () => {
        const cases: [unknown, number, string | null][] = [
            [new InvalidRequestError("x"), 400, "invalid_request"],
            [new InvalidRequestError("x", "invalid_media_role"), 400, "invalid_media_role"],
            [new UnsupportedMediaError("image"), 400, "vision_unsupported"],
            [new UnsupportedMediaError("audio"), 400, "audio_unsupported"],
            [new TooManyMediaError("x"), 400, "too_many_media"],
            [new InvalidMediaError("image", "x"), 400, "invalid_image"],
            [new InvalidMediaError("audio", "x"), 400, "invalid_audio"],
            [new InvalidMediaError("media", "x"), 400, "invalid_media"],
            [new GrammarError("grammar", "x"), 400, "invalid_grammar"],
            [new GrammarError("response_format", "x"), 400, "invalid_response_format"],
            [new ContextOverflowError(10, 5, true), 400, "context_length_exceeded"],
            [new QueueFullError("x"), 503, "queue_full"],
            [new CancelledError(), 499, "client_closed"],
            [new ShuttingDownError(), 503, "shutting_down"],
            [new UserError("x"), 400, "invalid_request"],
            [new ApiError(503, "x", "loading"), 503, "loading"],
        ];
        for (const [err, status, code] of cases) expect(toApiError(err, 1), String(err)).toMatchObject({ status, code });
        expect(toApiError(new GrammarError("response_format", "unsupported JSON schema: y"), 1).message).toBe(
            "response_format: unsupported JSON schema: y",
        );
        const write = process.stderr.write;
        const logged: string[] = [];
        process.stderr.write = ((s: string) => logged.push(s) > 0) as typeof write;
        try {
            const res = toApiError(new ResourceLoadError("speech model", "/secret/path.gguf is broken"), 1);
            expect(res).toMatchObject({ status: 503, code: "resource_unavailable" });
            expect(res.message).not.toContain("/secret");
            const internal = toApiError(new Error("boom at /secret/x"), 1);
            expect(internal).toMatchObject({ status: 500, code: "internal_error" });
            expect(internal.message).not.toContain("/secret");
        } finally {
            process.stderr.write = write;
        }
        expect(logged.join("")).toContain("/secret/path.gguf");
    });
});
