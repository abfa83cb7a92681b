// The rough edges a new user meets in the first hour (issue 23), each where a person would notice
// it: Ctrl-C while the backend is probed, `--help | head`, input files checked before a model
// loads, the demo model's describe length, what transcribe-and-answer is doing, bench --image alone,
// dropped-in paths and Tab completion at the chat prompt, and the noise: serve's stopped-answer
// lines, the demo model's served name, NO_COLOR, `devices` in 80 columns, pp512/tg128 explained.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { nodeLlamaCppLogging, setLibraryLogs } from "../src/engine/library-log.js";
import { defaultModel } from "../models/default-model.js";
import { expectOneLineError, BIN, ROOT, runCli } from "./helpers/cli.js";
import { writeTestPng, writeToneWav } from "./helpers/media.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";
import { startTty, type Tty } from "./helpers/tty.js";

const root = tempDir("first-hour");
let demo: { text: string; vision: string };
const image = join(root, "my shot's copy.png"); // a space and a quote, as screenshots are often named
const CPU = ["--gpu", "cpu"];

let open: Tty[] = [];
function tty(args: string[], env: Record<string, string> = {}): Tty {
    const t = startTty(args, { XDG_STATE_HOME: join(root, "state"), ...env });
    open.push(t);
    return t;
}
afterEach(() => {
    for (const t of open) t.close();
    open = [];
});

beforeAll(async () => {
    demo = await defaultModel();
    await writeTestPng(image);
}, 600_000);

/** Processes (pid, command line) whose environment holds `marker`: the CLI started with it and its children. */
function processesWith(marker: string): { pid: number; cmd: string }[] {
    const out: { pid: number; cmd: string }[] = [];
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
            if (!readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker)) continue;
            out.push({ pid: Number(pid), cmd: readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ") });
        } catch {
            /* gone meanwhile */
        }
    }
    return out;
}

describe("Ctrl-C and closed pipes", () => {
    it("Ctrl-C while node-llama-cpp probes the GPU backend (its binding-test process running) is one line, no stack trace", async (ctx) => {
        const marker = `AUTOGLM_TEST_MARK=${randomBytes(6).toString("hex")}`;
        const [k, v] = marker.split("=") as [string, string];
        const t = tty(["chat", "--temp", "0", "-c", "2048"], { [k]: v });
        // Waits for the state: node-llama-cpp's test process for a GPU binary, or the load done without one.
        for (;;) {
            if (processesWith(marker).some((p) => p.cmd.includes("testBindingBinary"))) break;
            if (/type a message|\[exit \d+\]/.test(t.screen())) ctx.skip(); // no GPU binary to probe on this machine
            await new Promise((r) => setTimeout(r, 20));
        }
        t.send("C-c");
        expect(await t.exitCode()).toBe(130);
        const s = t.screen();
        expect(s).toMatch(/^autoglm: interrupted\n\[exit 130\]/m);
        expect(s).not.toMatch(/node-llama-cpp|Failed to load|\n\s+at /);
    }, 300_000);

    it("--help and the demo model's note say where the real model comes from", async () => {
        const help = await runCli(["--help"]);
        expect(help.stdout).toMatch(/The real AutoGLM-Phone-9B is on Hugging Face:\n\s+autoglm pull zai-org\/AutoGLM-Phone-9B/);
        const pull = await runCli(["pull", "--help"]);
        expect(pull.stdout).toMatch(/HF_TOKEN/);
    });

    it("`autoglm --help | head -3` exits 0 with nothing on stderr, every time (EPIPE on a closed pipe)", () => {
        for (let i = 0; i < 10; i++) {
            for (const cmd of ["--help | head -3", "completion bash | head -1", "convert --help | head -1"]) {
                const out = execFileSync(
                    "bash",
                    ["-c", `set -o pipefail; "${process.execPath}" "${BIN}" ${cmd} 2>"${root}/err.txt"; echo "rc=$?"`],
                    {
                        encoding: "utf8",
                        cwd: ROOT,
                    },
                );
                expect(out.trim().split("\n").pop(), cmd).toBe("rc=0");
                expect(readFileSync(join(root, "err.txt"), "utf8"), cmd).toBe("");
            }
        }
    });
});

describe("inputs are checked before any model loads", () => {
    // With the load held until an interruption, a command that loaded first would never answer.
    const HOLD = { AUTOGLM_TEST_FAULT: "hold-load" };

    it("describe: a missing image, a text file named .png, a folder: one line, no load", async () => {
        const txt = join(root, "notes.png");
        writeFileSync(txt, "these are notes, not pixels");
        for (const [file, pattern] of [
            [join(root, "missing.png"), /^autoglm: image not found: /],
            [txt, /^autoglm: .*notes\.png is not an image autoglm can read/],
            [root, /is not a file$/],
        ] as const) {
            for (const model of [[], ["-m", demo.text, "--mmproj", demo.vision]]) {
                const r = await runCli(["describe", file, ...model, ...CPU], { env: HOLD, timeoutMs: 120_000 });
                expectOneLineError(r, pattern);
            }
        }
    });

    it("transcribe-and-answer: a text file named .wav, a missing file: one line, no load", async () => {
        const txt = join(root, "voice.wav");
        writeFileSync(txt, "hello, this is text");
        expectOneLineError(
            await runCli(["transcribe-and-answer", txt, ...CPU], { env: HOLD, timeoutMs: 120_000 }),
            /voice\.wav is not a WAV file/,
        );
        expectOneLineError(
            await runCli(["transcribe-and-answer", join(root, "none.wav"), ...CPU], { env: HOLD, timeoutMs: 120_000 }),
            /^autoglm: audio not found/,
        );
    });
});

describe("long silent waits", () => {
    it("describe on the demo model answers in at most 32 tokens and says so; a real model keeps 1,024 (its --help says both)", async () => {
        const r = await runCli(["describe", image, "--json", ...CPU], { timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        const stats = JSON.parse(r.stdout).stats;
        expect(stats.answerTokens).toBeLessThanOrEqual(32);
        expect(r.stderr).toMatch(/the demo model's answer is limited to 32 tokens \(its text is noise; -n to change\)/);
        const help = await runCli(["describe", "--help"]);
        expect(help.stdout.replace(/\s+/g, " ")).toMatch(/longest answer in tokens \(default: 1024; 32 with the built-in demo model/);
        const real = await runCli(["describe", image, "-m", demo.text, "--mmproj", demo.vision, "-n", "2", ...CPU], { timeoutMs: 300_000 });
        expect(real.code, real.stderr).toBe(0);
        expect(real.stderr).not.toMatch(/limited to/);
    }, 600_000);

    it("transcribe-and-answer says what it is doing while it transcribes, then answers", async () => {
        const wav = join(root, "tone.wav");
        writeToneWav(wav, 1);
        const r = await runCli(["transcribe-and-answer", wav, "-n", "2", ...CPU], { timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        const lines = r.stderr.split("\n");
        const transcribing = lines.indexOf("loading the speech model, then transcribing 1.0 s of audio...");
        const loaded = lines.findIndex((l) => l.startsWith("speech model "));
        const answering = lines.indexOf("answering the transcript...");
        expect(transcribing, r.stderr).toBeGreaterThan(-1);
        expect(loaded).toBeGreaterThan(transcribing);
        expect(answering).toBeGreaterThan(loaded);
        expect(r.stdout).toMatch(/^transcript: .*\nanswer: /);
    }, 600_000);

    it("bench --image measures the phone step alone; --text adds the text benchmark", async () => {
        const args = ["bench", "-p", "16", "-n", "4", "-r", "1", "--image", "--json", ...CPU];
        const alone = await runCli(args, { timeoutMs: 600_000 });
        expect(alone.code, alone.stderr).toBe(0);
        const j = JSON.parse(alone.stdout);
        expect(j.pp).toBeUndefined();
        expect(j.phoneStep.firstTokenMs.median).toBeGreaterThan(0);
        expect(j.loadMs).toBeGreaterThan(0);
        expect(alone.stderr).not.toMatch(/bench: (warm-up|prefill|decode)/);
        const both = await runCli([...args, "--text"], { timeoutMs: 600_000 });
        expect(both.code, both.stderr).toBe(0);
        expect(JSON.parse(both.stdout).pp.median).toBeGreaterThan(0);
    }, 900_000);
});

describe("paths at the chat prompt", () => {
    it("/image takes a dropped-in path: backslash-escaped spaces, single quotes (with a quote inside), double quotes, file://", async () => {
        const escaped = image.replace(/([ '])/g, "\\$1");
        const single = `'${image.replace(/'/g, "'\\''")}'`;
        const double = `"${image}"`;
        const url = new URL(`file://${image}`).href;
        const r = await runCli(["chat", "--temp", "0", "-n", "2", "--json", ...CPU], {
            input: [`/image ${escaped}`, `/image ${single} what is this?`, `/image ${double}`, `/image ${url}`, ""].join("\n"),
            timeoutMs: 300_000,
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim().split("\n")).toHaveLength(4);
        expect(r.stderr).not.toMatch(/not found|usage/);
    }, 300_000);

    it("Tab completes /commands and the path after /image, escaping as a dropped file is", async () => {
        const dir = join(root, "tab dir");
        mkdirSync(dir, { recursive: true });
        await writeTestPng(join(dir, "phone screen.png"));
        const t = tty(["chat", "--temp", "0", "-n", "2", "-c", "2048", ...CPU]);
        await t.waitFor(/^› ?$/m, "the prompt");
        t.send("/ima", { literal: true });
        t.send("Tab");
        await t.waitFor(/^› \/image $/m, "the completed command");
        t.send(`${root.replace(/ /g, "\\ ")}/tab\\ d`, { literal: true });
        t.send("Tab");
        await t.waitFor(/\/tab\\ dir\/$/m, "the folder");
        t.send("ph", { literal: true });
        t.send("Tab");
        await t.waitFor(/\/tab\\ dir\/phone\\ screen\.png$/m, "the file");
        t.send("Enter");
        await t.waitFor(/\n› ?$/m, "the answer and the next prompt");
        const s = t.screen();
        expect(s).not.toMatch(/not found/);
        t.send(["C-c", "C-c"]);
        expect(await t.exitCode()).toBe(0);
    }, 300_000);
});

describe("noise", () => {
    let server: RunningServer;
    beforeAll(async () => {
        server = await startServer([...CPU, "-c", "4096", "--sse-ping-interval", "0"], 300_000);
    }, 600_000);
    afterAll(async () => {
        await server?.stop();
    });

    /**
     * Streams an answer to a long prompt and goes away while the prompt is being evaluated (the
     * cancel then lands inside llama_decode), then one small request, whose access line follows.
     */
    async function stopAnAnswer(s: RunningServer): Promise<void> {
        const body = (content: string, max: number, stream: boolean) =>
            JSON.stringify({ messages: [{ role: "user", content }], max_tokens: max, ignore_eos: true, temperature: 0, stream });
        const controller = new AbortController();
        const res = await fetch(`${s.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: body("talk ".repeat(800), 64, true),
            signal: controller.signal,
        });
        const reader = res.body!.getReader();
        await reader.read(); // the role chunk: the prompt is being evaluated now
        controller.abort();
        await reader.cancel().catch(() => {});
        const after = await fetch(`${s.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: body("Hi", 2, false),
        });
        expect(after.status).toBe(200);
        while (!/POST \/v1\/chat\/completions 200 prompt=\d+ completion=2 /.test(s.stderr())) await new Promise((r) => setTimeout(r, 50));
    }

    it("serve keeps the lines llama.cpp logs for every stopped answer off stderr (a stopped answer is expected); --verbose shows them", async () => {
        await stopAnAnswer(server);
        expect(server.stderr()).not.toMatch(/failed to decode|failed to compute graph|graph_compute/);
        // The decision itself, for the exact lines llama.cpp logs when a decode is aborted, and one it logs for a real failure.
        const lines = [
            "graph_compute: ggml_backend_sched_graph_compute_async failed with error 1\n",
            "process_ubatch: failed to compute graph, compute status: 1\n",
            "decode: failed to decode, ret = 2\n",
            "decode: failed to decode, ret = -3\n",
        ];
        const shown = (mode: "errors" | "verbose") => {
            setLibraryLogs(mode);
            const spy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
            try {
                for (const l of lines) nodeLlamaCppLogging().logger("error" as never, l);
                return spy.mock.calls.map((c) => String(c[0]));
            } finally {
                spy.mockRestore();
                setLibraryLogs("errors");
            }
        };
        expect(shown("errors")).toEqual(["[llama.cpp] decode: failed to decode, ret = -3\n"]);
        expect(shown("verbose")).toHaveLength(4);
    }, 600_000);

    it("the random demo model is served as autoglm-demo, and serve says so at start", async () => {
        const models = await (await fetch(`${server.url}/v1/models`)).json();
        expect(models.data.map((m: { id: string }) => m.id)).toEqual(["autoglm-demo"]);
        expect(server.stderr()).toMatch(/the demo model is served as "autoglm-demo", not autoglm-phone-9b/);
        expect(server.stderr()).toMatch(/ready: .* model "autoglm-demo"/);
    });

    it("NO_COLOR=1: the loading spinner has no colour", async () => {
        for (const [env, coloured] of [
            [{}, true],
            [{ NO_COLOR: "1" }, false],
        ] as const) {
            const t = tty(["chat", ...CPU], { AUTOGLM_TEST_FAULT: "hold-load", ...env });
            await t.waitFor(/the load waits for an interruption/, "the load");
            // A capture between the spinner's clearing of its line and its next frame shows no spinner: read until one does.
            let raw = "";
            while (!/loading \S/.test(raw)) raw = t.screen({ escapes: true });
            expect(raw.includes("\u001b[36m"), JSON.stringify(env)).toBe(coloured);
            t.send("C-c");
            expect(await t.exitCode()).toBe(130);
        }
    }, 300_000);

    it("autoglm devices fits 80 columns", async () => {
        const r = await runCli(["devices"], { timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        const long = r.stdout.split("\n").filter((l) => l.length > 80);
        expect(long).toEqual([]);
        expect(r.stdout).toMatch(/^backend\s+loads\s+devices/m);
    }, 300_000);

    it("bench says what pp512 and tg128 are, in its --help and under its table", async () => {
        const help = await runCli(["bench", "--help"]);
        expect(help.stdout.replace(/\s+/g, " ")).toMatch(/pp512 and tg128 are llama-bench's names: pp<N> is prompt processing/);
        const r = await runCli(["bench", "-p", "16", "-n", "4", "-r", "1", ...CPU], { timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(
            /^pp16: prompt processing, 16 prompt tokens evaluated in batches; tg4: decoding, 4 tokens generated one at a time/m,
        );
    }, 300_000);
});
