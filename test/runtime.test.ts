// The runtime and its one decode loop, through the real addon: a prompt joining running streams is
// evaluated in chunks inside their decode steps, a cancel during a long prompt frees its slot before
// the prompt is done (a turn on a session, through Runtime.turn), and the JS <-> C++ contract refuses
// values of the wrong type.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../src/engine/runtime.js";
import { createContext, contextSettings } from "../src/engine/context.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("runtime");
let rt: any;

beforeAll(async () => {
    const text = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files.text;
    // A small batch makes a long prompt take many steps.
    rt = await Runtime.open({ model: text, load: { gpu: "cpu" }, context: { contextSize: 8192, batchSize: 32 }, slots: 2 });
});

afterAll(async () => {
    await rt?.dispose();
});

/** Deterministic prompt tokens spread over the vocabulary. */
const tokens = (n: number, salt: number) => Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 17) % rt.loaded.vocabSize);

/** A stream on slot 0 that runs until stopped, counting its tokens. */
function endlessStream() {
    const stop = new AbortController();
    const state = { tokens: 0, onToken: () => {} };
    const done = rt.pool.slots[0].sequence.generate(tokens(8, 1), {
        maxTokens: 7000,
        ignoreEog: true,
        signal: stop.signal,
        onToken: () => {
            state.tokens++;
            state.onToken();
        },
    });
    return { state, done, stop: () => stop.abort() };
}

const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe("one decode loop with chunked prefill", () => {
    it("a long prompt joining a running stream is evaluated in chunks inside the stream's decode steps", async () => {
        const a = endlessStream();
        await until(() => a.state.tokens > 0);
        const prompt = tokens(2000, 2);
        const b = await rt.pool.slots[1].sequence.generate(prompt, { maxTokens: 2, ignoreEog: true });
        a.stop();
        const ra = await a.done;
        expect(ra.reason).toBe("aborted");
        expect(b.promptComplete).toBe(true);
        expect(b.promptTokens).toBe(2000);
        // 2000 tokens at most 31 per step (32 less the stream's token): every step also decoded the stream.
        expect(b.promptSteps).toBeGreaterThanOrEqual(Math.ceil(2000 / 31));
        expect(b.sharedSteps).toBe(b.promptSteps);
        expect(b.tokens.length).toBe(2);
    });

    it("a cancel during a long prompt frees the slot before the prompt finishes", async () => {
        const a = endlessStream();
        await until(() => a.state.tokens > 0);
        const joining = rt.pool.slots[1].sequence;
        const cancel = new AbortController();
        const at = a.state.tokens;
        // Cancel once the running stream has decoded three more tokens: the joining prompt is then in progress.
        a.state.onToken = () => {
            if (a.state.tokens - at >= 3) cancel.abort();
        };
        const prompt = tokens(6000, 3);
        const b = await joining.generate(prompt, { maxTokens: 8, ignoreEog: true, signal: cancel.signal });
        expect(b.reason).toBe("aborted");
        expect(b.promptComplete).toBe(false);
        expect(b.tokens.length).toBe(0);
        expect(b.evaluatedTokens).toBe(0); // nothing of it is counted as cached
        // The slot serves the next request at once, from an empty record, while the stream still runs.
        const next = await joining.generate(tokens(16, 4), { maxTokens: 2, ignoreEog: true });
        expect(next.reusedTokens).toBe(0);
        expect(next.tokens.length).toBe(2);
        expect(a.state.tokens).toBeGreaterThan(at);
        a.stop();
        expect((await a.done).reason).toBe("aborted");
    });

    it("a turn cancelled before its prompt was in leaves no record: the same prompt again is evaluated whole", async () => {
        const perWord = rt.tokenize("word ".repeat(100)).length / 100;
        const messages = [{ role: "user", content: "word ".repeat(Math.floor(3000 / perWord)) }];
        const text = rt.render(messages);
        const hold = await rt.openSession(); // slot 0, whose sequence the endless stream below uses
        const session = await rt.openSession();
        expect(session.slot.id).toBe(1);
        const a = endlessStream();
        await until(() => a.state.tokens > 0);
        const cancel = new AbortController();
        const at = a.state.tokens;
        a.state.onToken = () => {
            if (a.state.tokens - at >= 3) cancel.abort();
        };
        const events: string[] = [];
        const first = await rt.turn({ messages, session, maxTokens: 4, ignoreEos: true, signal: cancel.signal }, (e: any) =>
            events.push(e.type),
        );
        a.stop();
        await a.done;
        expect(events[0]).toBe("prompt"); // it was cancelled while its prompt was evaluated
        expect(first.finish).toBe("aborted");
        expect(first.usage.promptTokens - first.usage.cachedTokens).toBe(0); // nothing of it evaluated
        const again = await rt.turn({ messages, session, maxTokens: 2, ignoreEos: true });
        session.close();
        hold.close();
        expect(again.usage.cachedTokens).toBe(0);
        expect(again.usage.promptTokens).toBe(rt.tokenize(text).length);
    });

    it("a stream alone decodes as a batch of one and stops at the token limit", async () => {
        const r = await rt.pool.slots[0].sequence.generate(tokens(10, 5), { maxTokens: 5, ignoreEog: true });
        expect(r.reason).toBe("length");
        expect(r.tokens.length).toBe(5);
        expect(r.sharedSteps).toBe(0);
        expect(r.promptSteps).toBe(1);
    });
});

describe("the native contract", () => {
    it("a value of the wrong type is a TypeError naming the field, not a default", () => {
        const ctx = createContext(rt.loaded, contextSettings({ contextSize: 256 }));
        try {
            expect(() => ctx.submit({ seq: "0" as unknown as number, startPos: 0, prompt: [Int32Array.of(1)], maxTokens: 1 })).toThrow(
                /seq must be a number/,
            );
            expect(() => ctx.submit({ seq: 0, startPos: 0, prompt: [[1, 2]], maxTokens: 1 })).toThrow(/prompt piece/);
            expect(() =>
                ctx.submit({
                    seq: 0,
                    startPos: 0,
                    prompt: [Int32Array.of(1)],
                    maxTokens: 1,
                    sampling: { temperature: "hot" as unknown as number },
                }),
            ).toThrow(/temperature must be a number/);
            expect(() => ctx.submit({ seq: 0, startPos: 0, prompt: [Int32Array.of(1)], maxTokens: 1.5 })).toThrow(
                /maxTokens must be a 32-bit integer/,
            );
            expect(() => ctx.submit({ seq: 5, startPos: 0, prompt: [Int32Array.of(1)], maxTokens: 1 })).toThrow(/no such sequence/);
        } finally {
            ctx.dispose();
        }
        expect(() => createContext(rt.loaded, { ...contextSettings({ contextSize: 256 }), flashAttention: "sometimes" as "on" })).toThrow(
            /flashAttention must be auto, on or off/,
        );
    });
});
