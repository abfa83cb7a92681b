// What the one-shot commands print: interrupted (SIGINT, as Ctrl-C sends it) they end with one line
// and exit 130, with nothing on stdout; describe says how it scaled an image and reports in --json
// what the model saw; llama.cpp's and libmtmd's own log lines appear only with --verbose.
// Signals are sent on an event (a line on stderr), never after a time.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, ROOT, runCli, type CliResult } from "./helpers/cli.js";
import { writeTestPng, writeToneWav } from "./helpers/media.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("interrupt");

/** Runs the CLI and sends SIGINT once stderr matches `when`. */
function interruptWhen(args: string[], when: RegExp, env: NodeJS.ProcessEnv = {}): Promise<CliResult & { signalled: boolean }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], {
            cwd: ROOT,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "",
            stderr = "",
            signalled = false;
        child.stdout.on("data", (d) => {
            stdout += d;
        });
        child.stderr.on("data", (d) => {
            stderr += d;
            if (!signalled && when.test(stderr)) {
                signalled = true;
                child.kill("SIGINT");
            }
        });
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, signalled }));
    });
}

const lastLine = (s: string) => s.trim().split("\n").pop();

describe("one-shot commands", () => {
    it("describe, transcribe-and-answer and bench interrupted during the model load: exit 130, one line, no output", async () => {
        const image = join(root, "screen.png");
        await writeTestPng(image);
        const wav = join(root, "tone.wav");
        writeToneWav(wav, 1);
        for (const args of [
            ["describe", image],
            ["transcribe-and-answer", wav],
            ["bench", "-r", "1"],
        ]) {
            // The load waits for the interruption, so the signal lands inside it.
            const r = await interruptWhen([...args, "--gpu", "cpu"], /the load waits for an interruption/, {
                AUTOGLM_TEST_FAULT: "hold-load",
            });
            expect(r.signalled, args[0]).toBe(true);
            expect(r.code, `${args[0]}: ${r.stderr}`).toBe(130);
            expect(lastLine(r.stderr)).toBe("autoglm: interrupted");
            expect(r.stdout).toBe("");
        }
    });

    it("describe interrupted while it evaluates the image, and bench while it measures: exit 130, nothing on stdout", async () => {
        // A photo over the 5 MP budget is still thousands of image tokens: the signal lands while they are evaluated.
        const photo = join(root, "photo.png");
        await writeTestPng(photo, 2600, 2000);
        const d = await interruptWhen(["describe", photo, "--gpu", "cpu"], /image scaled from/);
        expect(d.code, d.stderr).toBe(130);
        expect(lastLine(d.stderr)).toBe("autoglm: interrupted");
        expect(d.stdout).toBe("");
        const b = await interruptWhen(["bench", "--gpu", "cpu", "-r", "100000"], /backend cpu/);
        expect(b.code, b.stderr).toBe(130);
        expect(lastLine(b.stderr)).toBe("autoglm: interrupted");
        expect(b.stdout).toBe("");
    });

    it("describe says how it scaled an image, and --json reports the size and tokens the model saw", async () => {
        const image = join(root, "wide.png");
        await writeTestPng(image, 1000, 800);
        const r = await runCli(["describe", image, "--gpu", "cpu", "--image-max-pixels", "200000", "-n", "2", "--json"]);
        expect(r.code, r.stderr).toBe(0);
        const m =
            /^image scaled from 1000x800 \((\d+) image tokens\) to (\d+)x(\d+) \((\d+) image tokens\) to fit --image-max-pixels 200000$/m.exec(
                r.stderr,
            );
        expect(m, r.stderr).not.toBeNull();
        const j = JSON.parse(r.stdout);
        expect(j.image).toMatchObject({
            width: Number(m![2]),
            height: Number(m![3]),
            tokens: Number(m![4]),
            source: { width: 1000, height: 800 },
        });
        expect(j.image.width * j.image.height).toBeLessThanOrEqual(200000);
        expect(Number(m![1])).toBeGreaterThan(j.image.tokens);
        // The prompt the model evaluated holds the scaled image's tokens, not the unscaled count.
        expect(j.stats.promptTokens).toBeGreaterThan(j.image.tokens);
        expect(j.stats.promptTokens).toBeLessThan(Number(m![1]));
    });

    it("llama.cpp's and libmtmd's log lines (the audio encoder's 'experimental' warning) appear only with --verbose", async () => {
        const wav = join(root, "speech.wav");
        writeToneWav(wav, 1);
        const quiet = await runCli(["transcribe-and-answer", wav, "--gpu", "cpu", "-n", "2"], { timeoutMs: 290_000 });
        expect(quiet.code, quiet.stderr).toBe(0);
        expect(quiet.stdout).toMatch(/^answer: /m);
        expect(quiet.stderr).not.toMatch(/experimental stage|\[llama\.cpp\]|\[node-llama-cpp\]/);
        const verbose = await runCli(["transcribe-and-answer", wav, "--gpu", "cpu", "-n", "2", "--verbose"], { timeoutMs: 290_000 });
        expect(verbose.code, verbose.stderr).toBe(0);
        expect(verbose.stderr).toMatch(/audio input is in experimental stage/);
    }, 600_000); // two runs, each loading two models (a guard for a crowded machine, not a measure)
});
