// The Engine contract (src/engine/turn.ts) as the local Runtime keeps it, driven the way every front
// end drives it: one Runtime.turn call per turn. The order of a turn's events, refusals before any
// media byte is read (a full queue, a prompt that cannot fit, a malformed request), a cancel while
// queued, a session whose media are decoded once, the grammar, and a raw completion through the same turn.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMmproj } from "../src/engine/encoders.js";
import { CancelledError, ContextOverflowError, GrammarError, InvalidRequestError, QueueFullError } from "../src/engine/errors.js";
import { Runtime } from "../src/engine/runtime.js";
import type { TurnEvent, TurnMessage } from "../src/engine/turn.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("turn");
const png = join(root, "screen.png");
let rt: Runtime;

beforeAll(async () => {
    const files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    await writeTestPng(png);
    // One slot and a queue of one: a second turn waits, a third is refused.
    rt = await Runtime.open({
        model: files.text,
        mmproj: files.vision,
        encoderCaps: await readMmproj(files.vision),
        load: { gpu: "cpu" },
        context: { contextSize: 2048 },
        slots: 1,
        queue: 1,
    });
});

afterAll(async () => {
    await rt?.dispose();
});

/** An image whose bytes are read only when the turn asks; `reads` counts the asks. */
function lazyImage() {
    const state = { reads: 0 };
    const part = {
        type: "image" as const,
        source: {
            load: async () => {
                state.reads++;
                return readFileSync(png);
            },
        },
    };
    return { state, part };
}

const ask = (text: string, media: TurnMessage["content"] = []): TurnMessage[] => [
    { role: "user", content: Array.isArray(media) && media.length ? [...media, { type: "text", text }] : text },
];

const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 10));
};

describe("Runtime.turn", () => {
    it("streams its events in order: the image decoded, the prompt evaluated, then the answer; the result says what happened", async () => {
        const events: TurnEvent[] = [];
        const r = await rt.turn(
            {
                messages: ask("What is on the screen?", [{ type: "image", source: { path: png } }]),
                maxTokens: 6,
                ignoreEos: true,
                sampling: { temperature: 0 },
            },
            (e) => events.push(e),
        );
        const kinds = events.map((e) => e.type).filter((t, i, all) => t !== all[i - 1]);
        expect(kinds.slice(0, 2)).toEqual(["media", "prompt"]);
        expect(kinds.slice(2).every((k) => k === "text" || k === "reasoning")).toBe(true);
        expect(events[0]).toEqual({ type: "media", index: 0, report: r.media[0] });
        expect(r.media[0]).toMatchObject({ kind: "image", width: 96, height: 64, format: "png", source: { width: 96, height: 64 } });
        const prompt = events.find((e) => e.type === "prompt") as Extract<TurnEvent, { type: "prompt" }>;
        expect(prompt.total).toBe(r.usage.promptTokens);
        expect(r.usage.promptTokens).toBeGreaterThan((r.media[0] as { tokens: number }).tokens); // the image's embeddings and the text
        expect(r).toMatchObject({ finish: "length", contextFull: false, usage: { completionTokens: 6 } });
        expect(r.tokens).toHaveLength(6);
        // The events are the answer as it came: the text ones make the content, the reasoning ones the thinking.
        const joined = (type: string) => events.map((e) => (e.type === type ? (e as { text: string }).text : "")).join("");
        expect(joined("text").trim()).toBe(r.content);
        expect(joined("reasoning").trim()).toBe(r.reasoning);
    });

    it("queues a turn while the slot is busy (a queued event), refuses one more before reading its media, and a cancel while queued is a CancelledError", async () => {
        const stopA = new AbortController();
        let answering!: () => void;
        const aAnswering = new Promise<void>((resolve) => {
            answering = resolve;
        });
        const a = rt.turn({ messages: ask("Talk forever"), maxTokens: 100_000, ignoreEos: true, signal: stopA.signal }, (e) => {
            if (e.type === "text" || e.type === "reasoning") answering();
        });
        await until(() => rt.pool.busy === 1); // A holds the only slot
        const stopB = new AbortController();
        const bEvents: string[] = [];
        const b = rt.turn({ messages: ask("Me next"), maxTokens: 2, signal: stopB.signal }, (e) => bEvents.push(e.type));
        await until(() => bEvents.includes("queued"));
        const c = lazyImage();
        await expect(rt.turn({ messages: ask("And me", [c.part]), maxTokens: 2 })).rejects.toBeInstanceOf(QueueFullError);
        expect(c.state.reads).toBe(0); // refused before its bytes were read
        stopB.abort();
        await expect(b).rejects.toBeInstanceOf(CancelledError);
        // Cancelled once it has said something (not merely taken its slot): it ends "aborted" with what it said.
        await aAnswering;
        stopA.abort();
        const ra = await a;
        expect(ra.finish).toBe("aborted");
        expect(ra.usage.completionTokens).toBeGreaterThan(0);
    });

    it("refuses before any media byte is read: a prompt that cannot fit, messages and a prompt together, media outside a user message", async () => {
        const img = lazyImage();
        const long = "word ".repeat(5000);
        await expect(rt.turn({ messages: ask(long, [img.part]) })).rejects.toBeInstanceOf(ContextOverflowError);
        expect(img.state.reads).toBe(1); // the fit needs the image's size: read and decoded, but never encoded
        const never = lazyImage();
        await expect(rt.turn({ messages: ask("hi"), prompt: "hi" })).rejects.toBeInstanceOf(InvalidRequestError);
        await expect(rt.turn({ messages: [{ role: "assistant", content: [never.part] }] })).rejects.toMatchObject({
            code: "invalid_media_role",
        });
        await expect(rt.turn({ messages: ask("hi", [never.part]), grammar: { gbnf: "root ::= (" } })).rejects.toBeInstanceOf(GrammarError);
        await expect(rt.turn({ messages: ask("x".repeat(3_000_000), [never.part]) })).rejects.toBeInstanceOf(ContextOverflowError);
        // Only the grammar case read it (the grammar is checked after the media, in the server's order); a text
        // longer than any tokens could fit is refused before anything is read.
        expect(never.state.reads).toBe(1);
    });

    it("a session keeps its slot and its decoded media: the next turn reuses the cache and does not read the image again", async () => {
        const session = await rt.openSession();
        try {
            const img = lazyImage();
            const history: TurnMessage[] = ask("What is this?", [img.part]);
            const events: string[] = [];
            const one = await rt.turn({ messages: history, session, maxTokens: 3, sampling: { temperature: 0 } }, (e) =>
                events.push(e.type),
            );
            history.push({ role: "assistant", content: one.raw }, { role: "user", content: "Say more." });
            const two = await rt.turn({ messages: history, session, maxTokens: 3, sampling: { temperature: 0 } }, (e) =>
                events.push(e.type),
            );
            expect(img.state.reads).toBe(1);
            expect(events.filter((e) => e === "media")).toHaveLength(1);
            expect(two.media).toEqual(one.media); // still reported, from the first turn
            expect(two.usage.cachedTokens).toBeGreaterThanOrEqual(one.usage.promptTokens);
            session.reset();
            const three = await rt.turn({ messages: history, session, maxTokens: 1 });
            expect(three.usage.cachedTokens).toBe(0);
        } finally {
            session.close();
        }
        expect(rt.pool.busy).toBe(0);
    });

    it("a session's prefill evaluates the history ahead: the next turn evaluates only its new message and answers as without it", async () => {
        // The agent's shape: the screenshot's turn, then its text alone and the answer, then a new screenshot.
        const history: TurnMessage[] = [
            { role: "system", content: "You operate a phone." },
            { role: "user", content: "Open the settings." },
            { role: "assistant", content: '<think>The home screen.</think><answer>do(action="Launch", app="Settings")</answer>' },
        ];
        const next = [...history, ...ask("** Screen Info **", [lazyImage().part])];
        const answer = async (prefill: boolean) => {
            const session = await rt.openSession();
            try {
                // What the session held before: the first step, with its image, as the agent's turn left it.
                await rt.turn({ messages: [history[0]!, ...ask("Open the settings.", [lazyImage().part])], session, maxTokens: 2 });
                const evaluated = prefill ? await session.prefill(history) : 0;
                const r = await rt.turn({ messages: next, session, maxTokens: 6, ignoreEos: true, sampling: { temperature: 0 } });
                return { evaluated, r };
            } finally {
                session.close();
            }
        };
        const without = await answer(false);
        const ahead = await answer(true);
        expect(ahead.evaluated).toBeGreaterThan(20); // the user text and the answer, where the image was
        expect(ahead.r.raw).toBe(without.r.raw);
        expect(ahead.r.usage.promptTokens).toBe(without.r.usage.promptTokens);
        // Cached: the system prompt in both; with the prefill, the user text and the answer too.
        expect(ahead.r.usage.cachedTokens - without.r.usage.cachedTokens).toBe(ahead.evaluated);
        const refused = await rt.openSession();
        await expect(refused.prefill(next)).rejects.toThrow(/a prefill takes text-only messages/);
        refused.close();
    });

    it("a grammar constrains the answer; a raw prompt is continued through the same turn, as text events", async () => {
        const yes = await rt.turn({
            messages: ask("Well?"),
            grammar: { gbnf: 'root ::= "yes" | "no"' },
            sampling: { temperature: 0.9, seed: 3 },
        });
        expect(["yes", "no"]).toContain(yes.content);
        const texts: string[] = [],
            kinds = new Set<string>();
        const raw = await rt.turn({ prompt: "<|user|>\nOnce upon a time<|assistant|>\n", maxTokens: 5, ignoreEos: true }, (e) => {
            kinds.add(e.type);
            if (e.type === "text") texts.push(e.text);
        });
        expect(kinds.has("reasoning")).toBe(false);
        expect(raw.usage.completionTokens).toBe(5);
        expect(texts.join("")).toBe(raw.raw);
        await expect(rt.turn({ prompt: "" })).rejects.toThrow(/the prompt is empty/);
    });
});
