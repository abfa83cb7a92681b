// The phone-agent step as a benchmark: a screenshot with a system prompt of Open-AutoGLM's size and
// the task, then the next step over the cached conversation (the first screenshot stripped, the
// answer appended, a new screenshot), as Open-AutoGLM sends them, each one engine.turn on one
// session. Times: image decoding until the turn's media event (read, header, decode and scale), the
// encoder's forward pass, the prompt's evaluation and the first token, as the engine reports them.
// No printing here.

import type { BenchPhase } from "./benchmark.js";
import { stat, type Stat } from "./stats.js";
import type { Engine, MediaReport, TurnMessage, TurnResult } from "./turn.js";

/** A system prompt of Open-AutoGLM's size (2,400 characters) and shape: rules, then the action grammar. */
export const AGENT_SYSTEM_PROMPT = (
    "You are a phone-operating agent. Each turn you get the task and a screenshot. Think inside <think></think>, " +
    'then give exactly one action inside <answer></answer>: do(action="Launch", app="..."), do(action="Tap", element=[x,y]), ' +
    'do(action="Type", text="..."), do(action="Swipe", start=[x1,y1], end=[x2,y2]), do(action="Back"), do(action="Wait"), finish(message="..."). '
)
    .repeat(8)
    .slice(0, 2400);

/** A deterministic 1080x2400 screenshot-like PNG (bands of colour; 3,354 GLM-4.1V image tokens). */
export async function builtInScreenshot(salt = 0): Promise<Buffer> {
    const w = 1080,
        h = 2400,
        rgb = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
            const i = (y * w + x) * 3;
            rgb[i] = ((y >> 4) * 13 + salt * 31) & 255;
            rgb[i + 1] = ((x >> 3) * 7 + (salt >> 8) * 17) & 255; // past 256 salts the red band repeats: green shifts
            rgb[i + 2] = (((x ^ y) >> 5) * 29) & 255;
        }
    const { default: sharp } = await import("sharp"); // loaded when used, not at import (--help stays light)
    return sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toBuffer();
}

export interface ImageBenchResult {
    image: { width: number; height: number; tokens: number; sourceWidth: number; sourceHeight: number };
    promptTokens: number;
    decodeMs: Stat; // image file -> pixels, scaled and hashed (JS)
    encodeMs: Stat; // the vision encoder's forward pass
    evaluateMs: Stat; // the prompt's text and image embeddings into the KV cache, after encoding
    firstTokenMs: Stat; // decode + encode + evaluation + the first token: step 1 as a client waits for it
    followUpMs: Stat; // the same for step 2 over the cached conversation
    followUpCachedTokens: number;
}

/**
 * `screens` gives the screenshot of each step (step 2 gets a different one, as a phone would show);
 * runs on one session from an empty cache each repetition.
 */
export async function runImageBenchmark(
    engine: Engine,
    screens: (step: 1 | 2, rep: number) => Promise<string | Buffer>,
    repetitions: number,
    onPhase: BenchPhase = () => {},
    signal?: AbortSignal,
): Promise<ImageBenchResult> {
    const decode: number[] = [],
        encode: number[] = [],
        evaluate: number[] = [],
        first: number[] = [],
        follow: number[] = [];
    let image: ImageBenchResult["image"] | undefined,
        promptTokens = 0,
        cached = 0;
    const session = await engine.openSession();
    /** One step: the turn, and the time until its screenshot was decoded. */
    const ask = async (messages: TurnMessage[]): Promise<{ r: TurnResult; decodeMs: number; shot: MediaReport }> => {
        const t0 = performance.now();
        let decodeMs = 0,
            shot: MediaReport | undefined;
        const r = await engine.turn({ messages, session, maxTokens: 1, ignoreEos: true, sampling: { temperature: 0 }, signal }, (e) => {
            if (e.type !== "media") return;
            decodeMs = performance.now() - t0;
            shot = e.report;
        });
        signal?.throwIfAborted(); // stopped: no timing of half a step
        return { r, decodeMs, shot: shot! };
    };
    const screenshot = async (step: 1 | 2, rep: number) => {
        const s = await screens(step, rep);
        return { type: "image" as const, source: typeof s === "string" ? { path: s } : { bytes: s } };
    };
    try {
        for (let r = 0; r < repetitions; r++) {
            session.reset();
            onPhase("phone step 1 (screenshot, system prompt, task)", r + 1, repetitions);
            const task = 'Task: open the settings app.\n\n** Screen Info **\n{"current_app": "Launcher"}';
            const history: TurnMessage[] = [
                { role: "system", content: AGENT_SYSTEM_PROMPT },
                { role: "user", content: [{ type: "text", text: task }, await screenshot(1, r)] },
            ];
            const one = await ask(history);
            decode.push(one.decodeMs);
            encode.push(one.r.timings.encodeMs);
            evaluate.push(one.r.timings.firstTokenMs - one.r.timings.encodeMs);
            first.push(one.decodeMs + one.r.timings.firstTokenMs);
            if (one.shot.kind === "image")
                image = {
                    width: one.shot.width,
                    height: one.shot.height,
                    tokens: one.shot.tokens,
                    sourceWidth: one.shot.source.width,
                    sourceHeight: one.shot.source.height,
                };
            promptTokens = one.r.usage.promptTokens;

            onPhase("phone step 2 (cached conversation, new screenshot)", r + 1, repetitions);
            history[1] = { role: "user", content: task };
            history.push({
                role: "assistant",
                content: '<think>The launcher is open.</think><answer>do(action="Launch", app="Settings")</answer>',
            });
            history.push({
                role: "user",
                content: [{ type: "text", text: '** Screen Info **\n{"current_app": "Settings"}' }, await screenshot(2, r)],
            });
            const two = await ask(history);
            follow.push(two.decodeMs + two.r.timings.firstTokenMs);
            cached = two.r.usage.cachedTokens;
        }
    } finally {
        session.close();
    }
    return {
        image: image!,
        promptTokens,
        decodeMs: stat(decode),
        encodeMs: stat(encode),
        evaluateMs: stat(evaluate),
        firstTokenMs: stat(first),
        followUpMs: stat(follow),
        followUpCachedTokens: cached,
    };
}
