// `autoglm bench --url` through the real CLI, against llama.cpp's own llama-server (-np 4) and
// `autoglm serve --parallel 4 --api-key` (the real CLI), both on the demo model and its vision
// encoder: the figures and the phone-agent load levels arrive, no local model is loaded (the module
// log never sees node-llama-cpp; no model status line), AUTOGLM_URL works as every AUTOGLM_<FLAG>
// does, dead and refusing endpoints are one line and exit 1, and Ctrl-C cancels the request in
// flight (llama-server logs the cancelled task; autoglm's slot frees long before the answer's end).
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultModel } from "../models/default-model.js";
import { expectOneLineError, runCli, startCli, type CliResult } from "./helpers/cli.js";
import { startLlamaServer, type RunningLlamaServer } from "./helpers/llama-server.js";
import { writeTestPng } from "./helpers/media.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("bench-remote");
const KEY = "s3cret";
let demo: { text: string; vision: string };
let llama: RunningLlamaServer;
let ours: RunningServer;
let shot: string;

beforeAll(async () => {
    demo = await defaultModel();
    shot = join(root, "screen.png");
    await writeTestPng(shot, 108, 240); // small: the steps stay quick on a busy CPU
    llama = await startLlamaServer(["-m", demo.text, "--mmproj", demo.vision, "--jinja", "-np", "4", "-c", "65536"]);
    ours = await startServer(["--parallel", "4", "-c", "16384", "--api-key", KEY], 300_000);
});

afterAll(async () => {
    await llama?.stop();
    if (ours) expect(await ours.stop()).toBe(0);
});

const SMALL = ["-p", "32", "-n", "8", "-r", "1", "--step-tokens", "4"];

describe("autoglm bench --url", () => {
    it("against llama-server -np 4: text figures and phone-agent levels as JSON; no local model is loaded", async () => {
        const log = join(root, "modules-llama.txt");
        const r = await runCli(["bench", "--url", `${llama.url}/v1`, ...SMALL, "--concurrency", "1,2", "--image", shot, "--json"], {
            moduleLog: log,
            timeoutMs: 600_000,
        });
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(j.model).toBe(demo.text);
        expect(j.settings).toMatchObject({
            url: `${llama.url}/v1`,
            server: "llamacpp",
            contextTokens: 16384,
            vision: true,
            audio: false,
            slots: 4,
        });
        for (const k of ["pp", "tg", "ttftMs", "followUpTtftMs"]) {
            expect(j[k].samples, k).toHaveLength(1);
            expect(j[k].median, k).toBeGreaterThan(0);
        }
        expect(j.promptTokens).toBeGreaterThan(16); // the server's own count of the calibrated prompt
        expect(j.phoneAgents.levels.map((l: { concurrency: number; steps: number }) => [l.concurrency, l.steps])).toEqual([
            [1, 1],
            [2, 2],
        ]);
        for (const l of j.phoneAgents.levels) {
            expect(l.stepMs.samples).toHaveLength(l.steps);
            expect(l.stepMs.p50).toBeLessThanOrEqual(l.stepMs.p90);
            expect(l.stepMs.p90).toBeLessThanOrEqual(l.stepMs.max);
            expect(l.firstTokenMs.max).toBeLessThanOrEqual(l.stepMs.max);
            expect(l.stepsPerMinute).toBeCloseTo((l.steps * 60_000) / l.wallMs, 6);
            // Open-AutoGLM's system prompt (about 3,400 characters) and the screenshot: a long prompt each step.
            expect(l.promptTokens.p50).toBeGreaterThan(1000);
        }
        expect(j.phoneAgents.failure).toBeUndefined();
        // What the engine is, in one line; no local model's status line; node-llama-cpp never loaded.
        expect(r.stderr.split("\n")[0]).toBe(
            `engine ${llama.url}/v1 | model ${demo.text} | served by llamacpp | context 16384 tokens per request | images, no audio | 4 slot(s)`,
        );
        expect(r.stderr).not.toMatch(/backend cpu|loaded in|demo model/);
        const loaded = readFileSync(log, "utf8");
        expect(loaded).toMatch(/dist\/src\/remote\/remote-engine\.js/);
        expect(loaded).not.toMatch(/node_modules\/node-llama-cpp\//);
    }, 600_000);

    it("against autoglm serve --parallel 4 with its key from AUTOGLM_URL and AUTOGLM_API_KEY: the tables, and how many agents fit a step budget", async () => {
        const r = await runCli(["bench", ...SMALL, "--concurrency", "1,2", "--image", shot, "--step-budget", "3600"], {
            env: { AUTOGLM_URL: ours.url, AUTOGLM_API_KEY: KEY },
            timeoutMs: 600_000,
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(
            new RegExp(
                `^engine ${ours.url} \\| model autoglm-demo \\| served by autoglm \\| context 16384 tokens per request \\| images, no audio \\| 4 slot\\(s\\)`,
            ),
        );
        expect(r.stdout).toMatch(/^pp32 \(\d+ prompt tokens \/ first-token time\) +[\d.]+ tok\/s/m);
        expect(r.stdout).toMatch(/^tg8 +[\d.]+ tok\/s/m);
        expect(r.stdout).toMatch(/^follow-up first token \(\d+ tokens cached\)/m);
        const rows = r.stdout.split("\n").filter((l) => /^ +\d+ +\d+ +[\d.]+ s/.test(l));
        expect(rows.map((l) => l.trim().split(/\s+/).slice(0, 2))).toEqual([
            ["1", "1"],
            ["2", "2"],
        ]);
        expect(r.stdout).toMatch(/^up to 2 agents at once keep the p90 step within 3600 s \([\d.]+ steps\/min\)$/m);
        expect(r.stderr).not.toMatch(/backend cpu|loaded in/);
    }, 600_000);

    it("a refusing endpoint is one line and exit 1: no key (401), a wrong key, a model it does not serve", async () => {
        expectOneLineError(
            await runCli(["bench", "--url", ours.url, ...SMALL]),
            `${ours.url} refused the request (401: invalid or missing API key (Authorization: Bearer KEY)): give its key with --api-key (or AUTOGLM_API_KEY)`,
        );
        expectOneLineError(
            await runCli(["bench", "--url", ours.url, "--api-key", "wrong", ...SMALL]),
            /the key given with --api-key is not accepted$/,
        );
        expectOneLineError(
            await runCli(["bench", "--url", `${llama.url}/v1`, "--model", "autoglm-phone-9b", ...SMALL]),
            `${llama.url}/v1 serves ${demo.text}, not "autoglm-phone-9b" (--model)`,
        );
        // A GGUF path kept in AUTOGLM_MODEL for local runs is named as such.
        expectOneLineError(
            await runCli(["bench", "--url", llama.url, ...SMALL], { env: { AUTOGLM_MODEL: "/models/a.gguf" } }),
            `${llama.url} serves ${demo.text}, not "/models/a.gguf" (AUTOGLM_MODEL)`,
        );
    });

    it("a dead endpoint (nothing listening) and one that never answers: one line and exit 1", async () => {
        const probe = createServer();
        await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
        const port = (probe.address() as { port: number }).port;
        await new Promise<void>((resolve) => probe.close(() => resolve()));
        expectOneLineError(
            await runCli(["bench", "--url", `http://127.0.0.1:${port}`, ...SMALL]),
            `cannot reach http://127.0.0.1:${port}: connection refused (is the server running there?)`,
        );
        const silent = createServer(() => {}); // accepts, never answers
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
        try {
            expectOneLineError(
                await runCli(["bench", "--url", url, ...SMALL], { timeoutMs: 60_000 }),
                `${url} did not answer GET /v1/models within 10 s`,
            );
        } finally {
            silent.close();
            silent.unref();
        }
    }, 120_000);

    it("flags of a local model are refused with --url, and --url's own without it", async () => {
        expectOneLineError(
            await runCli(["bench", "--url", llama.url, "--gpu-layers", "2"]),
            `--gpu-layers applies to a local model; with --url the server at ${llama.url} decides it`,
        );
        expectOneLineError(
            await runCli(["bench", "--url", llama.url, "--compare-llama-bench"]),
            /--compare-llama-bench applies to a local model/,
        );
        expectOneLineError(
            await runCli(["bench", "--concurrency", "1,2"]),
            "--concurrency applies to a remote engine: give --url (or AUTOGLM_URL)",
        );
        expectOneLineError(
            await runCli(["bench", "--url", llama.url, "--concurrency", "1,,4"]),
            '--concurrency takes agents at once as a list such as 1,2,4 (each 1 to 256), got "1,,4"',
        );
        expectOneLineError(
            await runCli(["bench", "--url", "localhost:8000"]),
            '--url must be an http:// or https:// address, got "localhost:8000"',
        );
    });
});

describe("Ctrl-C", () => {
    /** Starts the bench; resolves once `ready` holds, then sends SIGINT; the CLI's result. */
    async function interrupt(args: string[], env: NodeJS.ProcessEnv, ready: (stderr: string) => Promise<boolean>): Promise<CliResult> {
        const cli = startCli(args, "", env);
        await expect.poll(() => ready(cli.stderr()), { timeout: 300_000, interval: 50 }).toBe(true);
        cli.child.kill("SIGINT");
        return cli.done;
    }

    it("cancels the phone step in flight: exit 130, one line, llama-server cancels the task", async () => {
        const tasks = () => (llama.log().match(/processing task/g) ?? []).length;
        const cancels = () => (llama.log().match(/cancel task/g) ?? []).length;
        const before = cancels();
        let sent = -1;
        // The built-in 1080x2400 screenshot: seconds of prefill on a CPU, so the request is in flight.
        const r = await interrupt(["bench", "--url", llama.url, ...SMALL, "--concurrency", "1"], {}, async (stderr) => {
            if (!stderr.includes("bench: phone step warm-up")) return false;
            if (sent < 0) sent = tasks();
            return tasks() > sent;
        });
        expect(r.code, r.stderr).toBe(130);
        expect(r.stderr.trim().split("\n").pop()).toBe("autoglm: interrupted");
        expect(r.stdout).toBe(""); // no table of half a run
        await expect.poll(cancels, { timeout: 120_000 }).toBeGreaterThan(before);
    }, 600_000);

    it("cancels a long answer on autoglm serve: its slot frees long before the 12000 tokens asked for", async () => {
        const metric = async (name: string) =>
            Number(
                new RegExp(`^${name} (\\S+)$`, "m").exec(
                    await (await fetch(`${ours.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text(),
                )![1],
            );
        const before = await metric("autoglm_completion_tokens_total");
        const r = await interrupt(
            ["bench", "--url", ours.url, "-p", "32", "-n", "12000", "-r", "1"],
            { AUTOGLM_API_KEY: KEY },
            async (stderr) =>
                stderr.includes("bench: prompt of 32 tokens, then 12000 decoded") ? (await metric("autoglm_slots_busy")) === 1 : false,
        );
        expect(r.code, r.stderr).toBe(130);
        expect(r.stderr.trim().split("\n").pop()).toBe("autoglm: interrupted");
        await expect.poll(() => metric("autoglm_slots_busy"), { timeout: 120_000 }).toBe(0);
        await expect.poll(() => metric("autoglm_completion_tokens_total"), { timeout: 60_000 }).toBeGreaterThan(before);
        expect((await metric("autoglm_completion_tokens_total")) - before).toBeLessThan(12000);
    }, 600_000);
});
