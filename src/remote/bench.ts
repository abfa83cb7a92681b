// `autoglm bench --url`: a remote engine measured the way a deployment is sized, through nothing but
// its API, as a client sees it (network included). A text prompt gives the prompt rate, the decode
// rate and first-token times (fresh, and a follow-up over the server's prefix cache), the figures the
// local bench reports under the same names. Then the phone-agent step under load: 1, 2, 4... agents
// at once, each running Open-AutoGLM's loop (its system prompt, a new 1080x2400 screenshot each step
// before the step's text, earlier screenshots stripped, the answer appended), giving per-step latency
// percentiles and steps per minute. No printing here.

import { UserError } from "../core/errors.js";
import type { BenchPhase } from "../engine/benchmark.js";
import { percentiles, stat, type Percentiles, type Stat } from "../engine/stats.js";
import type { Engine, TurnMessage, TurnRequest, TurnResult } from "../engine/turn.js";
import { userText } from "../agent/history.js";
import { systemPrompt } from "../agent/prompts.js";

export interface RemoteBenchOptions {
    /** Tokens of the text prompt (reached by calibrating on the server's own count). */
    promptTokens: number;
    genTokens: number;
    /** Repetitions of the text measurements; steps each agent runs. */
    repetitions: number;
    /** Agents at once, one load level each, in order. */
    concurrency: number[];
    /** Tokens of each step's answer (ignore_eos: every server generates as many). */
    stepTokens: number;
    /** The screenshot of the n-th step overall (each differs, so no server answers from a cached image). */
    screenshot: (n: number) => Promise<Buffer>;
}

export interface TextBenchResult {
    /** The text prompt's size as the server counted it (median). */
    promptTokens: number;
    pp: Stat; // prompt tokens / time to first token, tokens/s
    tg: Stat; // tokens after the first / the time they took, tokens/s
    ttftMs: Stat; // a short fresh prompt
    followUpTtftMs: Stat; // a short turn after the long prompt's conversation
    followUpCachedTokens: number;
}

export interface AgentLoadResult {
    concurrency: number;
    /** Steps each agent ran, and all of them. */
    stepsPerAgent: number;
    steps: number;
    wallMs: number;
    stepsPerMinute: number;
    /** Request sent to the answer's last token, per step. */
    stepMs: Percentiles;
    firstTokenMs: Percentiles;
    /** Prompt tokens per step as the server counted them (the history grows each step). */
    promptTokens: Percentiles;
}

export interface AgentLoad {
    levels: AgentLoadResult[];
    /** The level that failed (the levels above it were not run), and the server's message. */
    failure?: { concurrency: number; message: string };
}

/** Open-AutoGLM's sampling (client.py), with the answer's length fixed for the benchmark. */
const stepRequest = (stepTokens: number): TurnRequest => ({
    sampling: { temperature: 0, topP: 0.85, frequencyPenalty: 0.2 },
    maxTokens: stepTokens,
    ignoreEos: true,
    splitThinking: false,
});

const TASK = "打开设置，进入WLAN页面";
/** Answers appended to the history, each the shape agent.py rebuilds: <think>...</think><answer>...</answer>. */
const ANSWERS = [
    '<think>当前在系统桌面，需要打开设置应用。</think><answer>do(action="Launch", app="设置")</answer>',
    '<think>设置已打开，WLAN选项在页面上方，点击它。</think><answer>do(action="Tap", element=[500,230])</answer>',
    '<think>页面正在加载，稍等一下。</think><answer>do(action="Wait", duration="1 seconds")</answer>',
    '<think>需要向下滑动查看更多选项。</think><answer>do(action="Swipe", start=[500,800], end=[500,300])</answer>',
];
const APPS = ["System Home", "设置", "设置", "设置"];

const WORDS = (
    "the of and to in is that it for on was with as by at from this be are or an which one have all were when there " +
    "can more some time would about into than them these then its only other new also after first made people way"
).split(" ");

/** About `n` words of deterministic text; the salt changes its first words, so no server has it cached. */
function filler(n: number, salt: number): string {
    let x = salt * 2654435761 + 1;
    const out = [`Note ${salt}:`];
    for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        out.push(WORDS[x % WORDS.length]!);
    }
    return out.join(" ");
}

const tokensPerSecond = (r: TurnResult) => ((r.usage.completionTokens - 1) * 1000) / r.timings.decodeMs;

export async function runTextBenchmark(
    engine: Engine,
    o: Pick<RemoteBenchOptions, "promptTokens" | "genTokens" | "repetitions">,
    onPhase: BenchPhase = () => {},
    signal?: AbortSignal,
): Promise<TextBenchResult> {
    const ask = async (messages: TurnMessage[], maxTokens: number) => {
        const r = await engine.turn({ messages, maxTokens, ignoreEos: true, sampling: { temperature: 0 }, signal });
        signal?.throwIfAborted(); // stopped: no figure of half a request
        return r;
    };
    const context = engine.info.contextTokens;
    if (context && o.promptTokens + o.genTokens > context)
        throw new UserError(`the server's context is ${context} tokens per request: lower -p (${o.promptTokens}) and -n (${o.genTokens})`);
    // Calibrate: the server's own token count for a known number of words (this is the warm-up too).
    onPhase("warm-up (and how many words make the prompt)", 0, o.repetitions);
    const probe = await ask([{ role: "user", content: filler(o.promptTokens, 0) }], 1);
    const perWord = probe.usage.promptTokens > 0 ? probe.usage.promptTokens / o.promptTokens : 1;
    const words = Math.max(1, Math.round(o.promptTokens / perWord));
    const pp: number[] = [],
        tg: number[] = [],
        ttft: number[] = [],
        follow: number[] = [],
        counted: number[] = [];
    let cached = 0;
    for (let r = 0; r < o.repetitions; r++) {
        const long = filler(words, r + 1);
        onPhase(`prompt of ${o.promptTokens} tokens, then ${o.genTokens} decoded`, r + 1, o.repetitions);
        const a = await ask([{ role: "user", content: long }], o.genTokens);
        if (a.usage.completionTokens < 2)
            throw new UserError(
                `the server stopped after ${a.usage.completionTokens} token(s) although ignore_eos was asked: no decode rate`,
            );
        pp.push((a.usage.promptTokens * 1000) / a.timings.firstTokenMs);
        tg.push(tokensPerSecond(a));
        counted.push(a.usage.promptTokens);

        onPhase("first token", r + 1, o.repetitions);
        ttft.push(
            (await ask([{ role: "user", content: `Question ${r + 1}: which colour is the sky on a clear day?` }], 1)).timings.firstTokenMs,
        );

        onPhase("follow-up first token", r + 1, o.repetitions);
        const f = await ask(
            [
                { role: "user", content: long },
                { role: "assistant", content: "I have read the note." },
                { role: "user", content: "Which word comes most often in it?" },
            ],
            1,
        );
        follow.push(f.timings.firstTokenMs);
        cached = f.usage.cachedTokens;
    }
    return {
        promptTokens: stat(counted).median,
        pp: stat(pp),
        tg: stat(tg),
        ttftMs: stat(ttft),
        followUpTtftMs: stat(follow),
        followUpCachedTokens: cached,
    };
}

/** One agent's steps, Open-AutoGLM's history rules; each step's timings go to `record`. */
async function runAgent(
    engine: Engine,
    shots: Buffer[],
    request: TurnRequest,
    record: (ms: number, r: TurnResult) => void,
    signal: AbortSignal,
): Promise<void> {
    const history: TurnMessage[] = [{ role: "system", content: systemPrompt("cn") }];
    for (let s = 0; s < shots.length; s++) {
        const text = s === 0 ? userText(APPS[0]!, TASK) : userText(APPS[s % APPS.length]!);
        const user: TurnMessage = {
            role: "user",
            content: [
                { type: "image", source: { bytes: shots[s]! } },
                { type: "text", text },
            ],
        };
        const t0 = performance.now();
        const r = await engine.turn({ ...request, messages: [...history, user], signal });
        if (signal.aborted) return;
        record(performance.now() - t0, r);
        // As agent.py: the screenshot leaves the message just sent (its text stays a one-part list), the answer follows.
        history.push({ role: "user", content: [{ type: "text", text }] }, { role: "assistant", content: ANSWERS[s % ANSWERS.length]! });
    }
}

/** The phone-agent step at each concurrency level, in order; a level that fails ends the run (its error recorded). */
export async function runAgentLoad(
    engine: Engine,
    o: Omit<RemoteBenchOptions, "promptTokens" | "genTokens">,
    onPhase: BenchPhase = () => {},
    signal?: AbortSignal,
): Promise<AgentLoad> {
    const request = stepRequest(o.stepTokens);
    let shot = 0;
    onPhase("phone step warm-up (the vision encoder loads)", 0, 0);
    await engine.turn({
        ...request,
        maxTokens: 1,
        signal,
        messages: [
            { role: "system", content: systemPrompt("cn") },
            {
                role: "user",
                content: [
                    { type: "image", source: { bytes: await o.screenshot(shot++) } },
                    { type: "text", text: userText(APPS[0]!, TASK) },
                ],
            },
        ],
    });
    signal?.throwIfAborted();
    const levels: AgentLoadResult[] = [];
    for (const c of o.concurrency) {
        onPhase(`phone agents: ${c} at once, preparing ${c * o.repetitions} screenshots`, 0, 0);
        const shots: Buffer[][] = [];
        for (let a = 0; a < c; a++) {
            const mine: Buffer[] = [];
            for (let s = 0; s < o.repetitions; s++) mine.push(await o.screenshot(shot++));
            shots.push(mine);
        }
        onPhase(`phone agents: ${c} at once, ${o.repetitions} steps each`, 0, 0);
        const stepMs: number[] = [],
            first: number[] = [],
            prompt: number[] = [];
        // One failed step stops the level: its other agents are cancelled (the server sees them go).
        const level = new AbortController();
        const stop = () => level.abort();
        signal?.addEventListener("abort", stop, { once: true });
        const t0 = performance.now();
        const outcomes = await Promise.allSettled(
            shots.map((mine) =>
                runAgent(
                    engine,
                    mine,
                    request,
                    (ms, r) => {
                        stepMs.push(ms);
                        first.push(r.timings.firstTokenMs);
                        prompt.push(r.usage.promptTokens);
                    },
                    level.signal,
                ).catch((e) => {
                    level.abort();
                    throw e;
                }),
            ),
        );
        const wallMs = performance.now() - t0;
        signal?.removeEventListener("abort", stop);
        signal?.throwIfAborted();
        const failed = outcomes.find((x): x is PromiseRejectedResult => x.status === "rejected");
        if (failed) {
            if (!(failed.reason instanceof UserError)) throw failed.reason;
            return { levels, failure: { concurrency: c, message: failed.reason.message } };
        }
        levels.push({
            concurrency: c,
            stepsPerAgent: o.repetitions,
            steps: stepMs.length,
            wallMs,
            stepsPerMinute: (stepMs.length * 60_000) / wallMs,
            stepMs: percentiles(stepMs),
            firstTokenMs: percentiles(first),
            promptTokens: percentiles(prompt),
        });
    }
    return { levels };
}
