// `chat`, `describe` and `transcribe-and-answer` with --url, through the real CLI, against llama.cpp's
// own llama-server (the demo model and its vision encoder: images, no audio) and `autoglm serve`
// (the demo model with the demo speech model, behind --api-key: images and audio): answers arrive,
// no local model is loaded (node-llama-cpp is never resolved; no model status line), an engine
// that cannot take the audio or the image is one line, dead and refusing endpoints are one line and
// exit 1, /save and /load are refused, flags of a local model are refused, and a SIGINT cancels the
// request in flight (llama-server logs the cancelled task). A scripted stand-in (no model) plays an
// engine without vision and one that streams thinking, for the REPL at a terminal.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultAsrModel, defaultModel } from "../models/default-model.js";
import { expectOneLineError, runCli, startCli, type CliResult } from "./helpers/cli.js";
import { startLlamaServer, type RunningLlamaServer } from "./helpers/llama-server.js";
import { writeTestPng, writeToneWav } from "./helpers/media.js";
import { sse, startStandIn, type StandIn } from "./helpers/openai-stand-in.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";
import { startTty } from "./helpers/tty.js";

const root = tempDir("cli-remote");
const KEY = "k3y";
const DEAD = "http://127.0.0.1:9"; // the discard port: nothing listens there
let demo: { text: string; vision: string };
let llama: RunningLlamaServer;
let ours: RunningServer;
let standIn: StandIn;
let shot: string;
let wav: string;

beforeAll(async () => {
    demo = await defaultModel();
    const asr = await defaultAsrModel();
    shot = join(root, "shot.png");
    await writeTestPng(shot, 96, 64);
    wav = join(root, "tone.wav");
    writeToneWav(wav, 1);
    llama = await startLlamaServer(["-m", demo.text, "--mmproj", demo.vision, "--jinja", "-np", "2", "-c", "65536"]);
    ours = await startServer(["-c", "4096", "--api-key", KEY, "--asr-model", asr.text, "--asr-mmproj", asr.audio], 300_000);
    standIn = await startStandIn({});
}, 600_000);

afterAll(async () => {
    await standIn?.close();
    await llama?.stop();
    if (ours) expect(await ours.stop()).toBe(0);
});

const withKey = { AUTOGLM_API_KEY: KEY };

/** No model, encoder or speech model was loaded here: no status line of one, node-llama-cpp never resolved. */
function noLocalModel(r: CliResult, moduleLog?: string) {
    // A local model's status line (model PATH | ... | loaded in), the speech model's, the demo's notes.
    expect(r.stderr).not.toMatch(/^(model|speech model) \/|loaded in|built-in random-weight|^loading/m);
    if (moduleLog) {
        const loaded = readFileSync(moduleLog, "utf8");
        expect(loaded).toMatch(/dist\/src\/remote\/remote-engine\.js/);
        expect(loaded).not.toMatch(/node_modules\/node-llama-cpp\//);
    }
}

const llamaStatus = () =>
    new RegExp(
        `^engine ${llama.url} \\| model ${demo.text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\| served by llamacpp \\| context \\d+ tokens per request \\| images, no audio \\| 2 slot\\(s\\)$`,
    );
const oursStatus = () =>
    new RegExp(
        `^engine ${ours.url} \\| model autoglm-demo \\| served by autoglm \\| context 4096 tokens per request \\| images, audio \\| 1 slot\\(s\\)$`,
    );

function describeJson(r: CliResult) {
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(["content", "reasoning", "stats"]); // no image: the server scaled it, and does not say
    expect(typeof j.content).toBe("string");
    expect(typeof j.reasoning).toBe("string");
    // The server's usage: the prompt holds the image's embeddings besides the question's tokens.
    expect(j.stats.promptTokens).toBeGreaterThan(20);
    expect(j.stats.answerTokens).toBeGreaterThan(0);
    expect(j.stats.answerTokens).toBeLessThanOrEqual(8);
    expect(j.stats.ttftMs).toBeGreaterThan(0);
    expect(["stop", "length"]).toContain(j.stats.reason);
    return j;
}

describe("describe --url", () => {
    it("against llama-server: the answer as JSON with the server's usage; the engine's status line, no local model", async () => {
        const log = join(root, "modules-describe.txt");
        const r = await runCli(["describe", shot, "--url", llama.url, "-n", "8", "--json"], { moduleLog: log });
        describeJson(r);
        expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
        expect(r.stderr.trim()).toMatch(llamaStatus());
        noLocalModel(r, log);
    }, 300_000);

    it("the image goes as a data: URL of its bytes, the question after it, with the flags' sampling", async () => {
        standIn.script = {
            models: { data: [{ id: "glm", owned_by: "vllm", max_model_len: 8192 }] },
            completion: () => [sse({ role: "assistant", content: "" }), sse({ content: "a picture" }, "stop"), "data: [DONE]\n\n"],
        };
        standIn.requests.length = 0;
        const r = await runCli(["describe", shot, "--url", `${standIn.url}/v1`, "-p", "what?", "-n", "5", "--seed", "7"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe("a picture\n");
        const posts = standIn.requests.filter((q) => q.method === "POST");
        expect(posts.map((q) => q.path)).toEqual(["/v1/chat/completions"]);
        expect(posts[0]!.body).toMatchObject({
            model: "glm",
            messages: [
                {
                    role: "user",
                    content: [
                        { type: "image_url", image_url: { url: `data:image/png;base64,${readFileSync(shot).toString("base64")}` } },
                        { type: "text", text: "what?" },
                    ],
                },
            ],
            max_tokens: 5,
            temperature: 0,
            seed: 7,
            stream: true,
        });
    });

    it("against autoglm serve with AUTOGLM_URL and AUTOGLM_API_KEY, and -m naming the served model", async () => {
        const r = await runCli(["describe", shot, "-m", "autoglm-demo", "-n", "8", "--json", "-p", "What is in the picture?"], {
            env: { AUTOGLM_URL: ours.url, ...withKey },
            timeoutMs: 300_000,
        });
        describeJson(r);
        expect(r.stderr.trim()).toMatch(oursStatus());
        noLocalModel(r);
    }, 300_000);

    it("an engine that takes no images: one line after its status line, exit 1, nothing sent; the image is checked before anything", async () => {
        standIn.script = {
            models: { data: [{ id: "m.gguf", owned_by: "llamacpp", meta: { n_ctx: 4096 } }] },
            props: { modalities: { vision: false, audio: false }, total_slots: 1 },
        };
        standIn.requests.length = 0;
        const r = await runCli(["describe", shot, "--url", standIn.url]);
        expect(r.code, r.stderr).toBe(1);
        const lines = r.stderr.trim().split("\n");
        expect(lines, r.stderr).toHaveLength(2);
        expect(lines[0]).toMatch(/^engine .* \| no images, no audio/);
        expect(lines[1]).toBe(
            `autoglm: the engine at ${standIn.url} (model m.gguf) takes no images (its GET /props says so): start it with a vision encoder (llama-server --mmproj) or leave the image out`,
        );
        expect(standIn.requests.filter((q) => q.method === "POST")).toHaveLength(0);
        standIn.requests.length = 0;
        expectOneLineError(await runCli(["describe", join(root, "missing.png"), "--url", standIn.url]), /^autoglm: .*missing\.png/);
        expect(standIn.requests).toHaveLength(0); // not even the model list
    });
});

describe("transcribe-and-answer --url", () => {
    it("against autoglm serve with its speech model: the recording goes as input_audio and the answer arrives", async () => {
        const log = join(root, "modules-transcribe.txt");
        const r = await runCli(["transcribe-and-answer", wav, "--url", ours.url, "-n", "8", "--json"], { moduleLog: log, env: withKey });
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(typeof j.answer).toBe("string");
        // The transcript stays on the server (it answers with it), and the clip's prompt is its text.
        expect(j.transcript).toBeUndefined();
        expect(j.stats.answer.promptTokens).toBeGreaterThan(0);
        expect(j.stats.answer.answerTokens).toBeGreaterThan(0);
        const lines = r.stderr.trim().split("\n");
        expect(lines[0]).toMatch(oursStatus());
        expect(lines[1]).toBe(`sending 1.0 s of audio to ${ours.url}...`);
        noLocalModel(r, log);
    }, 300_000);

    it("against llama-server with a vision-only mmproj: one line saying so and what to do, exit 1", async () => {
        const r = await runCli(["transcribe-and-answer", wav, "--url", llama.url]);
        expect(r.code, r.stderr).toBe(1);
        const lines = r.stderr.trim().split("\n");
        expect(lines, r.stderr).toHaveLength(2);
        expect(lines[0]).toMatch(llamaStatus());
        expect(lines[1]).toBe(
            `autoglm: the engine at ${llama.url} (model ${demo.text}) takes no audio (its GET /props says so): start it with an audio encoder or speech model (llama-server --mmproj of an audio model), or run the command without --url (a speech model transcribes here)`,
        );
        expect(r.stdout).toBe("");
        noLocalModel(r);
    });
});

describe("chat --url", () => {
    it("line mode against llama-server: --json answers for text and /image in order; /save and /load refused in one line each", async () => {
        const log = join(root, "modules-chat.txt");
        const saved = join(root, "saved-chat");
        const r = await runCli(["chat", "--url", llama.url, "-n", "8", "--json", "--no-history"], {
            moduleLog: log,
            input: `hello\n/image ${shot} what is this?\n/save ${saved}\n/load ${saved}\nand now?\n`,
        });
        expect(r.code, r.stderr).toBe(1); // a /command that failed in line mode
        const answers = r.stdout
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        expect(answers).toHaveLength(3);
        for (const a of answers) {
            expect(typeof a.content).toBe("string");
            expect(a.stats.answerTokens).toBeGreaterThan(0);
            expect(a.stats.answerTokens).toBeLessThanOrEqual(8);
        }
        // The whole conversation goes each turn: the /image turn's prompt holds the image, the last holds both earlier turns.
        expect(answers[1].stats.promptTokens + answers[1].stats.reusedTokens).toBeGreaterThan(
            answers[0].stats.promptTokens + answers[0].stats.reusedTokens + 20,
        );
        expect(answers[2].stats.promptTokens + answers[2].stats.reusedTokens).toBeGreaterThan(
            answers[1].stats.promptTokens + answers[1].stats.reusedTokens,
        );
        const refusal = `autoglm: /save and /load need a local model: the engine at ${llama.url} keeps no KV cache this client can save or restore; a chat with a local model can be saved`;
        expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(llamaStatus()), refusal, refusal]);
        expect(existsSync(saved) || existsSync(`${saved}.json`)).toBe(false);
        noLocalModel(r, log);
    }, 300_000);

    it("line mode against autoglm serve: plain answers, two turns", async () => {
        const r = await runCli(["chat", "-n", "8", "--no-history", "--temp", "0"], {
            input: "hello\nagain\n",
            env: { AUTOGLM_URL: ours.url, ...withKey },
            timeoutMs: 300_000,
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.split("\n")).toHaveLength(3); // two answers (text of the demo's noise, maybe empty), one line each
        expect(r.stderr.trim()).toMatch(oursStatus());
        noLocalModel(r);
    }, 300_000);

    it("a SIGINT stops the answer in flight: llama-server cancels the task, the chat goes on", async () => {
        const tasks = () => (llama.log().match(/processing task/g) ?? []).length;
        const cancels = () => (llama.log().match(/cancel task/g) ?? []).length;
        const before = { tasks: tasks(), cancels: cancels() };
        const cli = startCli(["chat", "--url", llama.url, "-n", "30000", "--ignore-eos", "--json", "--no-history"], null);
        cli.child.stdin.write("tell me a long story\n");
        await expect.poll(tasks, { timeout: 120_000, interval: 50 }).toBeGreaterThan(before.tasks);
        cli.child.kill("SIGINT");
        await expect.poll(cli.stderr, { timeout: 60_000, interval: 50 }).toMatch(/\[stopped\]/);
        await expect.poll(cancels, { timeout: 60_000 }).toBeGreaterThan(before.cancels);
        cli.child.stdin.end("/help\n"); // the chat goes on after the stop (another turn would be 30000 tokens)
        const { code, stdout, stderr } = await cli.done;
        expect(code, stderr).toBe(0);
        expect(stderr.slice(stderr.indexOf("[stopped]"))).toMatch(/^\[stopped\]\ncommands:\n/);
        const answers = stdout
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        expect(answers.map((a) => a.stats.reason)).toEqual(["aborted"]);
        expect(answers[0].stats.answerTokens).toBeLessThan(30000);
    }, 300_000);

    it("at a terminal: the answer streams, thinking dimmed; /save is refused in one line and the REPL stays", async () => {
        standIn.script = {
            models: { data: [{ id: "glm", owned_by: "vllm", max_model_len: 8192 }] },
            completion: () => [
                sse({ role: "assistant", content: "" }),
                sse({ reasoning_content: "pondering" }),
                sse({ content: "the answer " }),
                sse({ content: "is 42" }, "stop"),
                "data: [DONE]\n\n",
            ],
        };
        const t = startTty(["chat", "--url", standIn.url, "--no-history"], { XDG_STATE_HOME: join(root, "state") });
        try {
            await t.waitFor(/type a message/);
            expect(t.screen()).toMatch(
                /^engine .* \| model glm \| served by vllm \| context 8192 tokens per request \| images unknown, audio unknown$/m,
            );
            t.send("what is it?", { literal: true });
            t.send("Enter");
            await t.waitFor(/the answer is 42/);
            expect(t.screen({ escapes: true })).toContain("\x1b[2mpondering"); // thinking dimmed
            t.send(`/save ${join(root, "tty-save")}`, { literal: true });
            t.send("Enter");
            await t.waitFor(/autoglm: \/save and \/load need a local model: the engine at \S+ keeps no KV cache/);
            t.send("/exit", { literal: true });
            t.send("Enter");
            expect(await t.exitCode()).toBe(0);
        } finally {
            t.close();
        }
    }, 120_000);
});

describe("endpoints and flags", () => {
    it("a dead endpoint is one line and exit 1 for each command", async () => {
        const line = `cannot reach ${DEAD}: connection refused (is the server running there?)`;
        expectOneLineError(await runCli(["describe", shot, "--url", DEAD]), line);
        expectOneLineError(await runCli(["transcribe-and-answer", wav, "--url", DEAD]), line);
        expectOneLineError(await runCli(["chat", "--url", DEAD], { input: "hello\n" }), line);
    });

    it("a refusing endpoint (a wrong --api-key, none at all) is one line and exit 1", async () => {
        expectOneLineError(
            await runCli(["describe", shot, "--url", ours.url, "--api-key", "wrong"]),
            /the key given with --api-key is not accepted$/,
        );
        expectOneLineError(
            await runCli(["chat", "--url", ours.url, "--api-key", "wrong"], { input: "hello\n" }),
            /the key given with --api-key is not accepted$/,
        );
        expectOneLineError(
            await runCli(["transcribe-and-answer", wav, "--url", ours.url]),
            `${ours.url} refused the request (401: invalid or missing API key (Authorization: Bearer KEY)): give its key with --api-key (or AUTOGLM_API_KEY)`,
        );
    });

    it("flags of a local model are refused with --url; --api-key without --url", async () => {
        expectOneLineError(
            await runCli(["describe", shot, "--url", llama.url, "--mmproj", demo.vision]),
            `--mmproj applies to a local model; with --url the server at ${llama.url} decides it`,
        );
        expectOneLineError(
            await runCli(["transcribe-and-answer", wav, "--url", llama.url, "--asr-model", demo.text]),
            `--asr-model applies to a local model; with --url the server at ${llama.url} decides it`,
        );
        expectOneLineError(
            await runCli(["chat", "--url", llama.url, "--ctx-size", "2048"], { input: "" }),
            `--ctx-size applies to a local model; with --url the server at ${llama.url} decides it`,
        );
        expectOneLineError(
            await runCli(["chat", "--api-key", "x"], { input: "" }),
            "--api-key applies to a remote engine: give --url (or AUTOGLM_URL)",
        );
    });
});
