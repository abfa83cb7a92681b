// Tool calls without a model: the template probe and rendering of both dialects (the demo model's
// GLM-4.1V template, and a template in GLM-4-0414's layout), the streaming call parsers, the forced-call
// grammar (checked by llama.cpp's parser through node-llama-cpp), and the response store.
import { getLlama, type Llama } from "node-llama-cpp";
import { beforeAll, describe, expect, it } from "vitest";
import { GLM4V_CHAT_TEMPLATE } from "../models/synthetic/tokenizer-files.js";
import { ChatTemplate } from "../src/engine/chat-template.js";
import { validateGrammar } from "../src/engine/grammar.js";
import { convertibleSchema, forcedCallGrammar, prefixRules } from "../src/engine/tools/call-grammar.js";
import { toolCallParser, type Parsed } from "../src/engine/tools/call-parser.js";
import { templateToolCaps, withTools } from "../src/engine/tools/template-tools.js";
import { samplerFields } from "../src/engine/turn-outputs.js";
import { ResponseStore } from "../src/server/responses/store.js";
import { GLM4_0414_LAYOUT } from "./helpers/templates.js";

const weather = {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Tokyo"] } }, required: ["city"] },
};
const time = { name: "get_time", parameters: { type: "object", properties: { zone: { type: "string" } } } };

/** Feeds `text` in pieces of `size` characters; the text and calls in order. */
function feed(dialect: "glm4" | "generic", text: string, forced: boolean, size = 3) {
    const p = toolCallParser(dialect, ["get_weather", "get_time"], forced);
    const out: Parsed[] = [];
    for (let i = 0; i < text.length; i += size) out.push(p.push(text.slice(i, i + size)));
    out.push(p.end());
    return {
        text: out.map((o) => o.text).join(""),
        calls: out.flatMap((o) => o.calls).map((c) => ({ name: c.name, arguments: JSON.parse(c.arguments) })),
        /** How many pushes released calls before the end. */
        early: out.slice(0, -1).filter((o) => o.calls.length).length,
    };
}

describe("templates and tools", () => {
    it("the demo model's GLM-4.1V template has no tool section: the generic dialect, with observation turns", () => {
        const t = new ChatTemplate(GLM4V_CHAT_TEMPLATE);
        expect(templateToolCaps(t)).toEqual({ dialect: "generic", observations: true });
        const r = withTools(templateToolCaps(t), [{ role: "user", content: "Weather in Paris?" }], { tools: [weather], choice: "auto" });
        expect(r.tools).toBeUndefined();
        expect(r.messages[0]!.role).toBe("system");
        const text = t.render(r.messages, { addGenerationPrompt: true });
        expect(text).toContain('"name": "get_weather"');
        expect(text).toContain('{"tool_calls": [{"name": "<function name>"');
        // tool_choice none: the tools are not described.
        expect(
            withTools(templateToolCaps(t), [{ role: "user", content: "x" }], { tools: [weather], choice: "none" }).messages,
        ).toHaveLength(1);
    });

    it("a past call and its result render in the generic dialect (and as a user turn where the template has no observation)", () => {
        const history = [
            { role: "user" as const, content: "Weather in Paris?" },
            { role: "assistant" as const, content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
            { role: "observation" as const, content: "31C", toolCallId: "call_1", name: "get_weather" },
        ];
        const demo = new ChatTemplate(GLM4V_CHAT_TEMPLATE);
        const text = demo.render(withTools(templateToolCaps(demo), history, undefined).messages, { addGenerationPrompt: true });
        expect(text).toContain(
            '<|assistant|>\n{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}<|observation|>\n31C<|assistant|>',
        );
        // GLM-4.1V's own template renders no observation turn: the result becomes a user turn.
        const noObservation = new ChatTemplate(
            GLM4V_CHAT_TEMPLATE.replace("{% elif msg.role == 'observation' or msg.role == 'tool' %}<|observation|>\n{{ msg.content }}", ""),
        );
        const caps = templateToolCaps(noObservation);
        expect(caps.observations).toBe(false);
        const asUser = noObservation.render(withTools(caps, history, undefined).messages, { addGenerationPrompt: true });
        expect(asUser).toContain('<|user|>\n{"tool_response":{"name":"get_weather","id":"call_1","content":"31C"}}');
    });

    it("a template in GLM-4-0414's layout is the GLM-4 dialect: the template describes the tools, calls are metadata turns", () => {
        const t = new ChatTemplate(GLM4_0414_LAYOUT);
        expect(templateToolCaps(t)).toEqual({ dialect: "glm4", observations: true });
        const history = [
            { role: "user" as const, content: "Weather in Paris?" },
            { role: "assistant" as const, content: "", toolCalls: [{ id: "c", name: "get_weather", arguments: '{"city":"Paris"}' }] },
            { role: "observation" as const, content: "31C" },
        ];
        const r = withTools(templateToolCaps(t), history, { tools: [weather], choice: "auto" });
        const text = t.render(r.messages, { addGenerationPrompt: true, tools: r.tools });
        expect(text).toContain("## get_weather");
        expect(text).toContain('<|assistant|>get_weather\n{"city":"Paris"}<|observation|>\n31C<|assistant|>');
    });
});

describe("call parsers", () => {
    it("generic: a whole-answer {tool_calls} object is calls (released at the end in auto mode, as each completes when forced)", () => {
        const text = ' {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]}';
        const auto = feed("generic", text, false);
        expect(auto).toEqual({
            text: "",
            calls: [
                { name: "get_weather", arguments: { city: "Paris" } },
                { name: "get_time", arguments: {} },
            ],
            early: 0,
        });
        const forced = feed("generic", text, true);
        expect(forced.calls).toEqual(auto.calls);
        expect(forced.early).toBe(2);
        // llama.cpp's single-call shape, and arguments as a JSON string.
        expect(feed("generic", '{"tool_call": {"name": "get_time", "arguments": "{\\"zone\\": \\"UTC\\"}"}}', false).calls).toEqual([
            { name: "get_time", arguments: { zone: "UTC" } },
        ]);
    });

    it("generic: anything else stays text as written (plain text at once; an unknown function, broken JSON or trailing text at the end)", () => {
        expect(feed("generic", "Hello {there}", false)).toEqual({ text: "Hello {there}", calls: [], early: 0 });
        const p = toolCallParser("generic", ["get_weather"], false);
        expect(p.push("It is")).toEqual({ text: "It is", calls: [] }); // not held
        for (const bad of [
            '{"tool_calls": [{"name": "nope", "arguments": {}}]}',
            '{"tool_calls": [{"name": "get_weather", "arg',
            '{"tool_calls": []} and more',
            '{"a": 1}',
        ])
            expect(feed("generic", bad, false)).toEqual({ text: bad, calls: [], early: 0 });
        // {"response": ...} is the answer's text.
        expect(feed("generic", '{"response": "Sunny."}', false).text).toBe("Sunny.");
    });

    it("GLM-4: name lines with JSON arguments are calls; other answers stay text", () => {
        const auto = feed("glm4", 'get_weather\n{"city": "Paris"}get_time\n{"zone": "UTC"}', false, 2);
        expect(auto.calls).toEqual([
            { name: "get_weather", arguments: { city: "Paris" } },
            { name: "get_time", arguments: { zone: "UTC" } },
        ]);
        expect(auto.text).toBe("");
        expect(feed("glm4", 'get_weather\n{"city": "Paris"}', true).early).toBe(1);
        for (const text of ["\nThe weather is fine.", "get_weatherish\n{}", 'get_weather\n{"city": ', "get_weather\nnot json"])
            expect(feed("glm4", text, false)).toEqual({ text, calls: [], early: 0 });
    });
});

describe("forced-call grammars", () => {
    let llama: Llama;
    beforeAll(async () => {
        llama = await getLlama({ gpu: false });
    });

    it("JSON schemas are mapped to what node-llama-cpp converts: anyOf as oneOf, a bare object open", () => {
        expect(
            convertibleSchema({
                $schema: "x",
                type: "object",
                properties: { a: { anyOf: [{ type: "string" }, { type: "null" }], title: "A" } },
                required: ["a"],
            }),
        ).toEqual({
            type: "object",
            properties: { a: { oneOf: [{ type: "string" }, { type: "null" }] } },
        });
        expect(convertibleSchema({ type: "object" })).toEqual({ type: "object", additionalProperties: true });
    });

    it("rule names are prefixed outside literals, classes and comments", () => {
        expect(prefixRules('root ::= "root" [a-z] x-1 # root\nx-1 ::= "\\"x"', "t0-")).toBe(
            't0-root ::= "root" [a-z] t0-x-1 # root\nt0-x-1 ::= "\\"x"',
        );
    });

    it("both dialects' grammars parse with llama.cpp's parser; an unknown named function is refused", async () => {
        for (const dialect of ["generic", "glm4"] as const)
            for (const choice of ["required", { name: "get_time" }] as const) {
                const gbnf = await forcedCallGrammar(llama, dialect, { tools: [weather, time], choice, parallel: false });
                await validateGrammar(llama, gbnf);
                if (dialect === "glm4") expect(gbnf).toContain('"get_time\\n"');
                else expect(gbnf).toContain("tool_calls");
            }
        await expect(forcedCallGrammar(llama, "generic", { tools: [weather], choice: { name: "nope" } })).rejects.toThrow(
            /not among the tools/,
        );
    });
});

describe("sampler fields and the response store", () => {
    it("seed -1 is random, other seeds reduce to 32 bits; logit_bias -100 bans, ids and values are checked", () => {
        expect(samplerFields({ seed: -1 }, 10).seed).toBeUndefined();
        expect(samplerFields({ seed: 2 ** 32 + 5 }, 10).seed).toBe(5);
        expect(samplerFields({ seed: -2 }, 10).seed).toBe(2 ** 32 - 2);
        expect(
            samplerFields(
                {
                    logitBias: [
                        [3, -100],
                        [4, 2.5],
                    ],
                },
                10,
            ).logitBias,
        ).toEqual([
            [3, Number.NEGATIVE_INFINITY],
            [4, 2.5],
        ]);
        expect(() => samplerFields({ logitBias: [[10, 1]] }, 10)).toThrow(/outside the model's vocabulary of 10/);
        expect(() => samplerFields({ logitBias: [[1, 101]] }, 10)).toThrow(/-100 to 100/);
    });

    it("a chain of responses holds each message once; a lost link loses the chain; the least recently used goes first", () => {
        const s = new ResponseStore({ entries: 3, bytes: 100 });
        const m = (t: string) => [{ role: "user" as const, content: t }];
        s.put("a", { messages: m("1"), calls: [], response: {}, bytes: 10 });
        s.put("b", { previous: "a", messages: m("2"), calls: [], response: {}, bytes: 10 });
        expect(s.conversation("b")!.messages.map((x) => x.content)).toEqual(["1", "2"]);
        s.put("c", { messages: m("3"), calls: [], response: {}, bytes: 10 });
        s.conversation("b"); // uses a and b: c is now the least recently used
        s.put("d", { messages: m("4"), calls: [], response: {}, bytes: 10 });
        expect(s.get("c")).toBeUndefined();
        s.put("e", { messages: m("5"), calls: [], response: {}, bytes: 75 }); // over the byte budget: b (least recent) goes
        expect(s.get("b")).toBeUndefined();
        s.put("f", { previous: "b", messages: m("6"), calls: [], response: {}, bytes: 1 });
        expect(s.conversation("f")).toBeUndefined(); // its chain lost b
        expect(s.conversation("e")!.messages.map((x) => x.content)).toEqual(["5"]);
    });
});
