// --strict-actions' grammar, through node-llama-cpp's own binding of llama.cpp's GBNF parser and
// matcher (LlamaGrammar; _testText runs llama_grammar_accept over the text and says whether the
// grammar is complete at its end): it parses, it accepts every action in the system prompt's form
// with any thinking before it, and it rejects what the parser would refuse. Every text it accepts
// must parse to the action expected.
import { getLlama, type LlamaGrammar } from "node-llama-cpp";
import { beforeAll, describe, expect, it } from "vitest";
import { ACTION_GRAMMAR, textWithout } from "../src/agent/grammar.js";
import { parseResponse } from "../src/agent/parse.js";

let grammar: LlamaGrammar;
const accepts = (text: string): boolean => (grammar as unknown as { _testText(t: string): boolean })._testText(text);

beforeAll(async () => {
    const llama = await getLlama({ gpu: false });
    grammar = await llama.createGrammar({ grammar: ACTION_GRAMMAR });
});

const ACTIONS: [string, object][] = [
    ['do(action="Launch", app="微信")', { action: "Launch", app: "微信" }],
    ['do(action="Tap", element=[0,999])', { action: "Tap", element: [0, 999] }],
    ['do(action="Tap", element=[500, 620], message="重要操作")', { action: "Tap", element: [500, 620], message: "重要操作" }],
    ['do(action="Type", text="Hello World")', { action: "Type", text: "Hello World" }],
    ['do(action="Type", text="line one\nline \\"two\\"")', { action: "Type", text: 'line one\nline "two"' }],
    ['do(action="Type_Name", text="张三")', { action: "Type_Name", text: "张三" }],
    ['do(action="Interact")', { action: "Interact" }],
    ['do(action="Swipe", start=[500,800], end=[500,200])', { action: "Swipe", start: [500, 800], end: [500, 200] }],
    ['do(action="Note", message="True")', { action: "Note", message: "True" }],
    ['do(action="Call_API", instruction="总结")', { action: "Call_API", instruction: "总结" }],
    ['do(action="Long Press", element=[3,40])', { action: "Long Press", element: [3, 40] }],
    ['do(action="Double Tap", element=[300,400])', { action: "Double Tap", element: [300, 400] }],
    ['do(action="Take_over", message="请登录")', { action: "Take_over", message: "请登录" }],
    ['do(action="Back")', { action: "Back" }],
    ['do(action="Home")', { action: "Home" }],
    ['do(action="Wait", duration="2 seconds")', { action: "Wait", duration: "2 seconds" }],
    ['finish(message="完成了")', { action: "finish", message: "完成了" }],
];

describe("the --strict-actions grammar", () => {
    it("is valid GBNF for llama.cpp", () => {
        expect(grammar).toBeDefined();
        expect(ACTION_GRAMMAR).toMatch(/^root ::= /);
    });

    it("accepts every action of the prompt after a thinking, with or without </answer>, and each parses to it", () => {
        for (const [action, parsed] of ACTIONS) {
            for (const text of [
                `<think>我需要操作。</think><answer>${action}</answer>`,
                `<think>\nreason\n</think>\n<answer>\n${action}\n</answer>`,
                `<think>r</think><answer>${action}`, // the real model stops on its </answer> token
            ]) {
                expect(accepts(text), text).toBe(true);
                expect(parseResponse(text).action, text).toEqual(parsed);
            }
        }
    });

    it("leaves the thinking free: any text without </think>, tags and actions included", () => {
        const thoughts = [
            "",
            "a < b and c > d; </th is not the end, nor </thinker>, nor <</think",
            '我看到了"设置"图标。do(action="Tap", element=[1,2]) was wrong; <answer>not yet</answer>',
            "多行\n\n思考\t与 emoji 😀",
            "</think",
        ];
        for (const t of thoughts) {
            const text = `<think>${t}</think><answer>do(action="Back")</answer>`;
            expect(accepts(text), text).toBe(true);
        }
        // A chat template that opens <think> itself: the output starts inside the thinking.
        expect(accepts('plain thinking</think><answer>do(action="Home")')).toBe(true);
    });

    it("rejects what is not one action in the prompt's form", () => {
        const bad = [
            '<think>a</think>b</think><answer>do(action="Back")', // a second </think>: the thinking ended at the first
            '<think>a</think><answer>do(action="Tap", element=[1000,3])', // outside 0-999
            '<think>a</think><answer>do(action="Scroll", direction="down")',
            '<think>a</think><answer>do(action="Type", text="a"b")', // an unescaped quote ends the string
            '<think>a</think><answer>do(action="Back") do(action="Home")',
            '<think>a</think><answer>[{"Type": "Type"}]',
            '<think>a</think>do(action="Back")', // no <answer>
            "<think>a</think><answer>finish()",
            '<think>never ends do(action="Back")',
        ];
        for (const text of bad) expect(accepts(text), text).toBe(false);
    });

    it("textWithout: exactly the texts that do not contain the pattern, checked by llama.cpp", async () => {
        const llama = await getLlama({ gpu: false });
        const g = await llama.createGrammar({ grammar: `root ::= t0\n${textWithout("t", "</x>")}\n` });
        const ok = (text: string) => (g as unknown as { _testText(t: string): boolean })._testText(text);
        for (const text of ["", "abc", "</x", "<</x", "</</x", "a<b>c</y>", "</", "<<<"]) expect(ok(text), text).toBe(true);
        for (const text of ["</x>", "a</x>", "<</x>", "</</x>b", "x</x>y"]) expect(ok(text), text).toBe(false);
        expect(() => textWithout("t", "abca")).toThrow(/repeats its first character/);
    });
});
