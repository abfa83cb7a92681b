// The native engine through its library API on tiny converted models: greedy output equal to
// llama.cpp evaluated by node-llama-cpp, KV-cache reuse across turns, abort, save/restore.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { LlamaCompletion } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, checkGguf } from "../src/engine/model.js";
import { contextSettings, createContext } from "../src/engine/context.js";
import { Sequence as Session } from "../src/engine/sequence.js";
import { convert, synthesize } from "./helpers/models.js";
import { llamaToolsDir } from "./helpers/llama-tools.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("engine");
const models: Record<string, string> = {};
const loaded: Record<string, any> = {};

beforeAll(async () => {
    for (const arch of ["glm4v", "glmasr"]) {
        const dir = await synthesize(join(root, arch), arch);
        models[arch] = (await convert(dir, join(root, `${arch}-out`), ["--outtype", "q8_0"])).files.text;
        loaded[arch] = await loadModel(models[arch], { gpu: "cpu" });
    }
});

afterAll(async () => {
    for (const m of Object.values(loaded)) await m.dispose();
});

const PROMPT = "Open the settings app and";

describe("greedy generation matches llama.cpp", () => {
    for (const arch of ["glm4v", "glmasr"]) {
        it(`${arch}: the same tokens as node-llama-cpp's own greedy completion`, async () => {
            const m = loaded[arch];
            const prompt = m.model.tokenize(PROMPT);
            const ctx = createContext(m, contextSettings({ contextSize: 512 }));
            const ours = await new Session(ctx).generate(prompt, { maxTokens: 24, ignoreEog: true });
            ctx.dispose();
            const ref = await m.model.createContext({ contextSize: 512 });
            const seq = ref.getSequence();
            const refTokens: number[] = [];
            await new LlamaCompletion({ contextSequence: seq }).generateCompletion(prompt, {
                maxTokens: 24,
                temperature: 0,
                customStopTriggers: [],
                onToken: (t: number[]) => refTokens.push(...t),
            });
            await ref.dispose();
            // node-llama-cpp may report a token beyond maxTokens; compare the common length.
            const n = Math.min(refTokens.length, ours.tokens.length);
            expect(n).toBeGreaterThanOrEqual(20);
            expect(Array.from(ours.tokens).slice(0, n)).toEqual(refTokens.slice(0, n));
        });
    }
});

describe("greedy generation matches llama.cpp's own llama-completion", () => {
    for (const arch of ["glm4v", "glmasr"]) {
        it(`${arch}: same text for the same GGUF and prompt`, async () => {
            const m = loaded[arch];
            const ctx = createContext(m, contextSettings({ contextSize: 512 }));
            const ours = await new Session(ctx).generate(m.model.tokenize(PROMPT), { maxTokens: 24, ignoreEog: true });
            ctx.dispose();
            const expected = PROMPT + m.model.detokenize(Array.from(ours.tokens));
            const bin = join(llamaToolsDir(), "llama-completion");
            // llama-completion prints through llama.cpp's asynchronous logger, which can lose its last
            // lines at exit (llama.cpp issue 22142): a truncated print is run again, up to 3 times.
            let printed = "";
            for (let attempt = 0; attempt < 3 && !printed.startsWith(expected); attempt++) {
                const r = spawnSync(
                    bin,
                    ["-m", models[arch], "-p", PROMPT, "-n", "24", "--temp", "0", "--ignore-eos", "-no-cnv", "-t", "2"],
                    { encoding: "utf8", timeout: 120_000 },
                );
                expect(r.status).toBe(0);
                printed = r.stdout;
            }
            expect(
                printed.startsWith(expected),
                `llama-completion printed ${JSON.stringify(printed)}, autoglm generated ${JSON.stringify(expected)}`,
            ).toBe(true);
        });
    }
});

describe("sessions", () => {
    it("a second turn evaluates only its new tokens", async () => {
        const m = loaded.glm4v;
        const ctx = createContext(m, contextSettings({ contextSize: 1024 }));
        const s = new Session(ctx);
        const turn1 = m.model.tokenize("<|user|>\nWhat is on the screen?<|assistant|>\n", true);
        const a = await s.generate(turn1, { maxTokens: 8, ignoreEog: true });
        expect(a.reusedTokens).toBe(0);
        expect(a.evaluatedTokens).toBe(turn1.length);
        const turn2 = [...turn1, ...a.tokens, ...m.model.tokenize("<|user|>\nAnd now?<|assistant|>\n", true)];
        const b = await s.generate(turn2, { maxTokens: 8, ignoreEog: true });
        // Everything but the last sampled token of turn 1 (never decoded) was in the cache.
        expect(b.reusedTokens).toBe(turn1.length + a.tokens.length - 1);
        expect(b.evaluatedTokens).toBe(turn2.length - b.reusedTokens);
        expect(b.evaluatedTokens).toBeLessThan(20);
        // The same conversation from scratch gives the same answer (the reuse changed nothing).
        s.reset();
        const c = await s.generate(turn2, { maxTokens: 8, ignoreEog: true });
        expect(Array.from(c.tokens)).toEqual(Array.from(b.tokens));
        ctx.dispose();
    });

    it("an abort takes effect within one token", async () => {
        const m = loaded.glm4v;
        const ctx = createContext(m, contextSettings({ contextSize: 4096 }));
        const controller = new AbortController();
        let atAbort = -1,
            afterCancel = -1,
            job = -1;
        const timer = setInterval(() => {
            if (job >= 0 && ctx.produced(job) >= 50) {
                atAbort = ctx.produced(job);
                controller.abort(); // the cancel is recorded when this returns
                afterCancel = ctx.produced(job);
                clearInterval(timer);
            }
        }, 0);
        const r = await new Session(ctx).generate(m.model.tokenize(PROMPT), {
            maxTokens: 3500,
            ignoreEog: true,
            signal: controller.signal,
            onSubmit: (id: number) => {
                job = id;
            },
        });
        clearInterval(timer);
        expect(r.reason).toBe("aborted");
        expect(atAbort).toBeGreaterThanOrEqual(50);
        // Ordered, not timed: once cancel() has returned, at most the step in progress adds its token.
        expect(r.tokens.length).toBeLessThanOrEqual(afterCancel + 1);
        ctx.dispose();
    });

    it("save then load gives the identical greedy continuation", async () => {
        const m = loaded.glm4v;
        const file = join(root, "session.bin");
        const ctx1 = createContext(m, contextSettings({ contextSize: 1024 }));
        const s1 = new Session(ctx1);
        const first = await s1.generate(m.model.tokenize(PROMPT), { maxTokens: 6, ignoreEog: true });
        s1.save(file);
        const next = [...s1.cachedTokens!, first.tokens[first.tokens.length - 1]];
        const cont1 = await s1.generate(next, { maxTokens: 10, ignoreEog: true });
        ctx1.dispose();
        const ctx2 = createContext(m, contextSettings({ contextSize: 1024 }));
        const s2 = new Session(ctx2);
        s2.load(file);
        expect(s2.cachedTokens!.length).toBe(next.length - 1);
        const cont2 = await s2.generate(next, { maxTokens: 10, ignoreEog: true });
        expect(cont2.evaluatedTokens).toBe(1);
        expect(Array.from(cont2.tokens)).toEqual(Array.from(cont1.tokens));
        ctx2.dispose();
    });
});

describe("robustness", () => {
    it("an already-aborted signal generates nothing and leaves the cache as it was", async () => {
        const m = loaded.glm4v;
        const ctx = createContext(m, contextSettings({ contextSize: 512 }));
        const s = new Session(ctx);
        await s.generate(m.model.tokenize(PROMPT), { maxTokens: 4, ignoreEog: true });
        const before = [...s.cachedTokens!];
        const controller = new AbortController();
        controller.abort();
        const r = await s.generate([...before, 5, 6, 7], { maxTokens: 50, ignoreEog: true, signal: controller.signal });
        expect(r.reason).toBe("aborted");
        expect(r.tokens.length).toBe(0);
        expect([...s.cachedTokens!]).toEqual(before);
        ctx.dispose();
    });

    it("a failed load leaves an empty, usable session; calls on a disposed context throw instead of crashing", async () => {
        const m = loaded.glm4v;
        const ctx = createContext(m, contextSettings({ contextSize: 512 }));
        const s = new Session(ctx);
        await s.generate(m.model.tokenize(PROMPT), { maxTokens: 4, ignoreEog: true });
        const broken = join(root, "broken-session.bin");
        writeFileSync(broken, "not a session");
        expect(() => s.load(broken)).toThrow(/could not load a session/);
        expect(s.cachedTokens!.length).toBe(0);
        const r = await s.generate(m.model.tokenize(PROMPT), { maxTokens: 4, ignoreEog: true });
        expect(r.reusedTokens).toBe(0);
        ctx.dispose();
        expect(() => ctx.saveSequence(0, join(root, "x.bin"), new Int32Array(0), 0)).toThrow(/disposed/);
        expect(() => ctx.submit({ seq: 0, startPos: 0, prompt: [Int32Array.of(1)], maxTokens: 1 })).toThrow(/disposed/);
    });
});

describe("bad input", () => {
    it("missing files, non-GGUF files and mmproj files are refused before llama.cpp sees them", async () => {
        await expect(checkGguf(join(root, "nope.gguf"))).rejects.toThrow(/model file not found/);
        const junk = join(root, "junk.gguf");
        writeFileSync(junk, "not a model");
        await expect(checkGguf(junk)).rejects.toThrow(/not a GGUF file/);
        const vision = (await convert(join(root, "glm4v"), join(root, "glm4v-out"), ["--outtype", "q8_0"])).files.vision;
        await expect(checkGguf(vision)).rejects.toThrow(/mmproj/);
    });

    it("a zero context size is refused", () => {
        expect(() => contextSettings({ contextSize: 0 })).toThrow(/must be a positive integer/);
    });
});
