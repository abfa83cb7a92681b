// The native addon's contract, media side: NativeMedia's options and tokenize()'s items are read with
// their types checked (a wrong type is a TypeError naming the field, never a silent default), libmtmd's
// log setting is a call of its own, and ignoreEog bans every token that would end an answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contextSettings, createContext } from "../src/engine/context.js";
import { internalModelHandle, loadModel, type LoadedModel } from "../src/engine/model.js";
import type { NativeMedia, NativeMediaOptions } from "../src/engine/native.js";
import { Sequence } from "../src/engine/sequence.js";
import { defaultModel } from "../models/default-model.js";

let demo: { text: string; vision: string };
let loaded: LoadedModel;
let media: NativeMedia;

beforeAll(async () => {
    demo = await defaultModel();
    loaded = await loadModel(demo.text, { gpu: "cpu" });
    media = newMedia({ threads: 1, useGpu: false });
});

afterAll(async () => {
    media?.dispose();
    await loaded?.dispose();
});

const newMedia = (options: unknown, path: unknown = demo.vision) =>
    new loaded.addon.NativeMedia(internalModelHandle(loaded.model), path as string, options as NativeMediaOptions);

const image = (width: number, height: number) => ({ width, height, rgb: new Uint8Array(width * height * 3) });

describe("NativeMedia's options", () => {
    it.each([
        [{ threads: "2" }, /threads must be a number/],
        [{ threads: 0 }, /threads must be a positive integer/],
        [{ threads: 1.5 }, /threads must be a 32-bit integer/],
        [{ useGpu: 1 }, /useGpu must be a boolean/],
        [{ flashAttention: "sometimes" }, /flashAttention must be auto, on or off/],
        [{ flashAttention: true }, /flashAttention must be a string/],
        [{ maxImageTokens: "many" }, /maxImageTokens must be a number/],
        [{ maxImageTokens: -1 }, /maxImageTokens must be a positive integer/],
        [undefined, /media options must be an object/],
        [[], /media options must be an object/],
    ])("%j is refused by name", (options, message) => {
        expect(() => newMedia(options)).toThrow(TypeError);
        expect(() => newMedia(options)).toThrow(message);
    });

    it("the mmproj path must be a string", () => {
        expect(() => newMedia({}, 42)).toThrow(/mmprojPath must be a string/);
    });

    it("absent and null fields take libmtmd's defaults", () => {
        const m = newMedia({ threads: null, useGpu: undefined, maxImageTokens: null });
        expect(m.info().vision).toBe(true);
        m.dispose();
    });
});

describe("NativeMedia.tokenize's arguments", () => {
    const marker = () => media.info().marker;

    it.each([
        [[42], /a media item must be an object/],
        [[{ width: "2", height: 2, rgb: new Uint8Array(12) }], /width must be a number/],
        [[{ width: 2, height: 2, rgb: [0, 0, 0] }], /rgb must be a Uint8Array/],
        [[{ width: 2, height: 2, rgb: new Uint8ClampedArray(12) }], /rgb must be a Uint8Array/],
        [[{ samples: new Float64Array(16) }], /samples must be a Float32Array/],
        [[{ ...image(2, 2), id: 7 }], /id must be a string/],
        [[{ width: 0, height: 2, rgb: new Uint8Array(0) }], /width and height must be positive/],
        [[{ width: 2, height: 2, rgb: new Uint8Array(11) }], /image bytes do not match width x height x 3/],
    ])("items %#: a wrong type or shape is refused by name", (items, message) => {
        expect(() => media.tokenize(`${marker()}describe`, items as never)).toThrow(message);
    });

    it("the text and the item list are checked too", () => {
        expect(() => media.tokenize(5 as never, [])).toThrow(/text must be a string/);
        expect(() => media.tokenize("hello", { length: 0 } as never)).toThrow(/items must be an array/);
    });

    it("a throw midway (a bad second item) leaves a later tokenize working", () => {
        expect(() => media.tokenize(`${marker()}${marker()}two`, [image(28, 28), { bad: true } as never])).toThrow(
            /width must be a number/,
        );
        const chunks = media.tokenize(`${marker()}one`, [{ ...image(56, 56), id: "after-throw" }]);
        const images = chunks.filter((c) => c.type === "image");
        expect(images).toHaveLength(1);
        expect(images[0]).toMatchObject({ id: "after-throw" });
    });

    it("a generate() piece that is not a media chunk this addon made is refused", () => {
        const ctx = createContext(loaded, contextSettings({ contextSize: 256 }));
        try {
            expect(() => ctx.submit({ seq: 0, startPos: 0, prompt: [{ chunk: 1 }, Int32Array.of(1)], maxTokens: 1 })).toThrow(
                /a prompt piece must be an Int32Array of tokens or a media chunk/,
            );
        } finally {
            ctx.dispose();
        }
    });
});

describe("process-wide settings are explicit calls", () => {
    it("setMediaLogWarnings and setThreadBudget check their argument", () => {
        expect(() => loaded.addon.setMediaLogWarnings("yes" as never)).toThrow(/on must be a boolean/);
        expect(() => loaded.addon.setThreadBudget(0)).toThrow(/total must be a positive integer/);
        expect(() => loaded.addon.setThreadBudget("4" as never)).toThrow(/total must be a number/);
        loaded.addon.setMediaLogWarnings(true);
    });
});

describe("ignoreEog", () => {
    it("bans every end-of-generation token and the stop tokens: the answer runs to maxTokens", async () => {
        const ctx = createContext(loaded, contextSettings({ contextSize: 1024 }));
        try {
            const eog = [loaded.model.tokens.eos, loaded.model.tokens.eot]
                .filter((t): t is NonNullable<typeof t> => t !== null)
                .map(Number);
            expect(eog.length).toBeGreaterThan(0);
            const prompt = loaded.model.tokenize("stream 0: tell a long story", true) as number[];
            // Greedy without the ban: the tokens it picks, to ban them next.
            const free = await new Sequence(ctx).generate(prompt, { maxTokens: 12, ignoreEog: true, stopTokens: [] });
            const stops = Array.from(free.tokens.slice(2, 5));
            const r = await new Sequence(ctx).generate(prompt, { maxTokens: 40, ignoreEog: true, stopTokens: stops });
            expect(r.reason).toBe("length");
            expect(r.tokens.length).toBe(40);
            for (const t of [...eog, ...stops]) expect(Array.from(r.tokens)).not.toContain(t);
            // The same ban holds through the sampler chain (not only the greedy argmax).
            const sampled = await new Sequence(ctx).generate(prompt, {
                maxTokens: 40,
                ignoreEog: true,
                stopTokens: stops,
                sampling: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 3 },
            });
            expect(sampled.reason).toBe("length");
            for (const t of [...eog, ...stops]) expect(Array.from(sampled.tokens)).not.toContain(t);
        } finally {
            ctx.dispose();
        }
    });
});

describe("the generation side: logprobs, logitBias, copyFrom", () => {
    const prompt = () => Int32Array.from(loaded.model.tokenize("tell me a story", true) as number[]);

    it("wrong types and ranges are refused by name; a bias token outside the vocabulary fails the job as the request's fault", async () => {
        const ctx = createContext(loaded, contextSettings({ contextSize: 256, sequences: 2 }));
        try {
            const job = (extra: object) => ctx.submit({ seq: 0, startPos: 0, prompt: [prompt()], maxTokens: 2, ...extra });
            expect(() => job({ logprobs: 21 })).toThrow(/logprobs must be -1 \(none\) or 0..20/);
            expect(() => job({ sampling: { logitBias: [[1, 2, 3]] } })).toThrow(/logitBias must be an array of \[token, bias\] pairs/);
            expect(() => job({ sampling: { logitBias: [[1, Number.NaN]] } })).toThrow(/a finite number or -Infinity/);
            await expect(job({ sampling: { logitBias: [[loaded.vocabSize, 1]] } }).done).rejects.toMatchObject({ kind: "user" });
            await expect(job({ copyFrom: 0 }).done).rejects.toMatchObject({
                kind: "internal",
                message: /copyFrom must name another sequence/,
            });
        } finally {
            ctx.dispose();
        }
    });

    it("logprobs are the model's distribution before the chain: the same with ignoreEog's ban, greedy picks the top one", async () => {
        const ctx = createContext(loaded, contextSettings({ contextSize: 256 }));
        try {
            const run = async (ignoreEog: boolean) => {
                const seen: { token: number; logprob: number; top: { token: number; logprob: number }[] }[] = [];
                await new Sequence(ctx).generate(Array.from(prompt()), {
                    maxTokens: 6,
                    ignoreEog,
                    logprobs: 3,
                    onToken: (token, p) =>
                        seen.push({ token, logprob: p!.logprob, top: p!.top.map(({ token, logprob }) => ({ token, logprob })) }),
                });
                return seen;
            };
            const plain = await run(false);
            const banned = await run(true);
            expect(plain.length).toBeGreaterThan(0);
            expect(banned[0]).toEqual(plain[0]);
            for (const t of banned) {
                expect(t.top).toHaveLength(3);
                expect(t.top[0]!.token).toBe(t.token);
                expect(t.top[0]!.logprob).toBe(t.logprob);
                expect(t.top.reduce((s, a) => s + Math.exp(a.logprob), 0)).toBeLessThanOrEqual(1);
            }
        } finally {
            ctx.dispose();
        }
    });

    it("copyFrom: a sequence started from another's prompt cells answers as that one does", async () => {
        const ctx = createContext(loaded, contextSettings({ contextSize: 512, sequences: 2 }));
        try {
            const p = prompt();
            await ctx.submit({ seq: 0, startPos: 0, prompt: [p], maxTokens: 0 }).done;
            const last = Int32Array.of(p[p.length - 1]!);
            const [a, b] = await Promise.all([
                ctx.submit({ seq: 0, startPos: p.length - 1, prompt: [last], maxTokens: 8 }).done,
                ctx.submit({ seq: 1, copyFrom: 0, startPos: p.length - 1, prompt: [last], maxTokens: 8 }).done,
            ]);
            expect(Array.from(b.tokens)).toEqual(Array.from(a.tokens));
            // Without the copy, sequence 1 holds nothing below startPos: its answer is not the same.
            const alone = await ctx.submit({ seq: 1, startPos: 0, prompt: [last], maxTokens: 8 }).done;
            expect(Array.from(alone.tokens)).not.toEqual(Array.from(a.tokens));
        } finally {
            ctx.dispose();
        }
    });
});
