// The process's one thread budget (src/core/threads.ts, native/src/thread-budget.h): JS worker pools
// lease threads from it, and the native consumers split the rest at run time. Through the real addon
// and the demo pair: an encoder pass alone takes the whole budget; beside running streams it takes
// half and the streams decode with the other half (asked again every step, so they get it all back);
// two contexts decoding at once share it; and the threads in use never pass the total.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { threadBudget, ThreadBudget } from "../src/core/threads.js";
import { contextSettings, createContext } from "../src/engine/context.js";
import { loadModel, type LoadedModel } from "../src/engine/model.js";
import type { NativeContext, NativeMedia, PromptChunk } from "../src/engine/native.js";
import { openEncoder } from "../src/engine/encoders.js";
import { promptItems, Sequence } from "../src/engine/sequence.js";
import { defaultModel } from "../models/default-model.js";

describe("the JS side of the budget", () => {
    it("leases threads to worker pools and leaves the rest to the native consumers", () => {
        const b = new ThreadBudget();
        b.setTotal(6);
        const seen: number[] = [];
        b.onNativeChange((n) => seen.push(n));
        const pool = b.lease(4);
        expect(pool.threads).toBe(4);
        expect(b.native).toBe(2);
        // Nothing is left but the last thread: a second pool gets one, and the native side keeps one.
        const other = b.lease(8);
        expect(other.threads).toBe(2);
        expect(b.native).toBe(1);
        pool.release();
        pool.release(); // twice is once
        other.release();
        expect(b.native).toBe(6);
        expect(seen).toEqual([6, 2, 1, 4, 6]);
        expect(b.forContext()).toEqual({ decode: 6, batch: 6, encoder: 6 });
        expect(b.forContext(8, 3)).toEqual({ decode: 6, batch: 3, encoder: 6 });
        expect(() => b.setTotal(0)).toThrow(/positive integer/);
    });
});

describe("the native consumers share the budget", () => {
    const TOTAL = 4;
    let loaded: LoadedModel;
    let ctx: NativeContext;
    let encoder: NativeMedia;
    let previous: number;

    beforeAll(async () => {
        const demo = await defaultModel();
        previous = threadBudget.total;
        threadBudget.setTotal(TOTAL);
        loaded = await loadModel(demo.text, { gpu: "cpu" });
        const settings = contextSettings({ contextSize: 8192, sequences: 2 });
        ctx = createContext(loaded, settings);
        encoder = openEncoder(loaded, demo.vision, threadBudget.forContext(), "auto");
    });

    afterAll(async () => {
        encoder?.dispose();
        ctx?.dispose();
        await loaded?.dispose();
        threadBudget.setTotal(previous);
    });

    const text = (n: number, salt: number) => Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 17) % loaded.vocabSize);

    /** An image prompt: libmtmd's chunks for a small picture (a new content id each time). */
    let shots = 0;
    function imagePrompt() {
        const width = 224,
            height = 224,
            rgb = new Uint8Array(width * height * 3);
        shots++;
        for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 13 + shots * 71) & 255;
        const chunks: PromptChunk[] = encoder.tokenize(`${encoder.info().marker}What is this?`, [
            { id: `budget-${shots}`, width, height, rgb },
        ]);
        return promptItems(chunks);
    }

    it("the addon holds the JS budget's native share, and JS leases shrink it", () => {
        expect(loaded.addon.threadBudget().total).toBe(TOTAL);
        const lease = threadBudget.lease(1);
        expect(loaded.addon.threadBudget().total).toBe(TOTAL - 1);
        lease.release();
        expect(loaded.addon.threadBudget().total).toBe(TOTAL);
    });

    it("an encoder pass alone gets the whole budget, and so does the answer after it", async () => {
        const r = await new Sequence(ctx, 1, true).generate(imagePrompt(), { maxTokens: 2, ignoreEog: true });
        expect(r.encodeThreads).toBe(TOTAL);
        expect(r.maxThreads).toBe(TOTAL);
    });

    it("beside running streams an encoder pass takes half; the streams decode with the rest, and never more than the total at once", async () => {
        loaded.addon.threadBudget(); // resets the peak
        const stop = new AbortController();
        let tokens = 0;
        let flowing!: () => void;
        const started = new Promise<void>((r) => {
            flowing = r;
        });
        const stream = new Sequence(ctx, 0, true).generate(text(8, 1), {
            maxTokens: 6000,
            ignoreEog: true,
            signal: stop.signal,
            onToken: () => {
                if (++tokens === 8) flowing();
            },
        });
        await started;
        const shot = await new Sequence(ctx, 1, true).generate(imagePrompt(), { maxTokens: 2, ignoreEog: true });
        stop.abort();
        const s = await stream;
        expect(shot.encodeThreads).toBe(TOTAL / 2);
        expect(s.minThreads).toBe(TOTAL / 2); // the steps while the encoder worked
        expect(s.maxThreads).toBe(TOTAL); // before it, and after
        expect(shot.maxThreads).toBe(TOTAL); // its answer, once the encoder was done
        expect(loaded.addon.threadBudget().peak).toBeLessThanOrEqual(TOTAL);
    });

    it("two contexts decoding at once share the budget", async () => {
        const other = createContext(loaded, contextSettings({ contextSize: 1024 }));
        try {
            const stop = new AbortController();
            let flowing!: () => void;
            const started = new Promise<void>((r) => {
                flowing = r;
            });
            let tokens = 0;
            const stream = new Sequence(ctx, 0, true).generate(text(8, 2), {
                maxTokens: 6000,
                ignoreEog: true,
                signal: stop.signal,
                onToken: () => {
                    if (++tokens === 8) flowing();
                },
            });
            await started;
            const second = await new Sequence(other, 0).generate(text(8, 3), { maxTokens: 16, ignoreEog: true });
            stop.abort();
            const first = await stream;
            // Every step of the second ran while the first was decoding: half each. (The first shrinks at
            // its next step, which this test cannot order against the second's.)
            expect([second.minThreads, second.maxThreads]).toEqual([TOTAL / 2, TOTAL / 2]);
            expect(first.maxThreads).toBe(TOTAL);
        } finally {
            other.dispose();
        }
    });
});
