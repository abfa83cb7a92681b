// `autoglm bench` through the real CLI: results and the llama-bench comparison on a tiny model,
// and one-line errors for bad input.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { noiseWarnings } from "../src/cli/noise.js";
import { stat } from "../src/engine/stats.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("bench");
let model: string;

beforeAll(async () => {
    const dir = await synthesize(join(root, "glm4"), "glm4");
    model = (await convert(dir, join(root, "out"), ["--outtype", "q4_0"])).files.text;
});

function oneLineError(r: { code: number | null; stderr: string }, pattern: RegExp) {
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr.trim().split("\n").pop()).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("autoglm bench", () => {
    it("measures prefill, decode and first-token times, side by side with llama-bench", async () => {
        const r = await runCli(["bench", "-m", model, "-p", "64", "-n", "16", "-r", "2", "--json", "--compare-llama-bench"], {
            timeoutMs: 300_000,
        });
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(j.pp.samples).toHaveLength(2);
        expect(j.pp.median).toBeGreaterThan(0);
        expect(j.tg.median).toBeGreaterThan(0);
        expect(j.ttftMs.median).toBeGreaterThan(0);
        expect(j.followUpTtftMs.median).toBeGreaterThan(0);
        expect(j.settings).toMatchObject({ backend: "cpu", flashAttention: "auto", kvCache: "f16/f16" });
        expect(j.llamaBench.pp).toBeGreaterThan(0);
        expect(j.llamaBench.tg).toBeGreaterThan(0);
        expect(j.ratio.tg).toBeCloseTo(j.tg.median / j.llamaBench.tg, 6);
        expect(r.stderr).toMatch(/backend cpu \| (\d+\/\d+ layers on .* \| )?loaded in/);
        // A measurement is warned about exactly when its repetitions differ by more than 10 %.
        const noisy = (s: { min: number; max: number }) => s.max / s.min > 1.1;
        expect(j.warnings.some((w: string) => w.startsWith("pp64 varied"))).toBe(noisy(j.pp));
        expect(j.warnings.some((w: string) => w.startsWith("tg16 varied"))).toBe(noisy(j.tg));
    }, 600_000);

    it("the noise warning: over 10 % spread between repetitions, with the figures", () => {
        const s = (samples: number[]) => stat(samples);
        expect(
            noiseWarnings([
                ["pp512", s([100, 105, 109])],
                ["tg128", s([10])],
            ]),
        ).toEqual([]);
        const [w, ...rest] = noiseWarnings([
            ["pp512", s([100, 111])],
            ["tg128", s([0.01, 10])],
        ]);
        expect(w).toMatch(/^pp512 varied x1\.11 between repetitions \(100\.0 to 111\.0\)/);
        expect(rest).toHaveLength(1);
        expect(rest[0]).toMatch(/^tg128 varied x1000\.00/);
    }); // a busy 2-core machine runs both benchmarks for minutes

    it("uses the built-in demo model when no --model is given, and says so; a phase line per step on stderr; no reference columns without --compare-llama-bench", async () => {
        const r = await runCli(["bench", "-p", "16", "-n", "4", "-r", "2"], { timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/random-weight demo model/);
        expect(r.stdout).toMatch(/tg4 /);
        // Not a terminal: one line per phase, in order.
        const phases = r.stderr.split("\n").filter((l) => l.startsWith("bench: "));
        expect(phases).toEqual([
            "bench: warm-up",
            ...[1, 2].flatMap((k) => [
                `bench: prefill 16 tokens (repetition ${k}/2)`,
                `bench: decode 4 tokens (repetition ${k}/2)`,
                `bench: first token (repetition ${k}/2)`,
                `bench: follow-up first token (repetition ${k}/2)`,
            ]),
        ]);
        expect(r.stdout).toMatch(/^measure\s+median of 2\s+min-max$/m);
        expect(r.stdout).not.toMatch(/llama-bench|ratio/);
        // The llama.cpp spellings of -p/-n/-r give the same run.
        const spelled = await runCli(["bench", "--n-prompt", "16", "--n-gen", "4", "--repetitions", "1", "--json"], { timeoutMs: 300_000 });
        expect(spelled.code, spelled.stderr).toBe(0);
        expect(JSON.parse(spelled.stdout).pp.samples).toHaveLength(1);
    }, 600_000);

    it("keeps its own measurement, and prints the reference's error, when llama-bench cannot run", async () => {
        // No bash on PATH: the reference tools cannot be built or found; autoglm itself needs neither.
        const r = await runCli(["bench", "-m", model, "-p", "16", "-n", "4", "-r", "1", "--compare-llama-bench"], {
            timeoutMs: 300_000,
            env: { PATH: "/nonexistent" },
        });
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/^pp16\s+\S+ tok\/s\s+\S+\s+-\s+-$/m);
        expect(r.stdout).toMatch(/^measure\s+median of 1\s+min-max\s+llama-bench\s+ratio$/m);
        expect(r.stderr.trim().split("\n").pop()).toMatch(
            /^autoglm: the comparison failed \(autoglm's own figures above are kept\): could not build llama\.cpp's reference tools/,
        );
        const j = await runCli(["bench", "-m", model, "-p", "16", "-n", "4", "-r", "1", "--compare-llama-bench", "--json"], {
            timeoutMs: 300_000,
            env: { PATH: "/nonexistent" },
        });
        expect(j.code).toBe(1);
        const out = JSON.parse(j.stdout);
        expect(out.pp.median).toBeGreaterThan(0);
        expect(out.llamaBench).toBeUndefined();
        expect(out.llamaBenchError).toMatch(/could not build llama\.cpp's reference tools/);
    }, 600_000);

    it("--image measures the phone-agent step: decode, encode, evaluation, first token, and the next step over the cached conversation", async () => {
        const r = await runCli(["bench", "-p", "16", "-n", "4", "-r", "1", "--image", "--json"], { timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        const step = JSON.parse(r.stdout).phoneStep;
        expect(step.image).toMatchObject({ width: 1080, height: 2400, tokens: 3354 });
        expect(step.promptTokens).toBeGreaterThan(3354);
        for (const k of ["decodeMs", "encodeMs", "evaluateMs", "firstTokenMs", "followUpMs"]) expect(step[k].median, k).toBeGreaterThan(0);
        // Step 1's total holds its parts; step 2 found at least the system prompt in the cache.
        expect(step.firstTokenMs.median).toBeGreaterThanOrEqual(step.encodeMs.median);
        expect(step.followUpCachedTokens).toBeGreaterThan(300);
        const bad = await runCli(["bench", "-m", model, "--image"]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/--image needs a vision encoder/);
    }, 600_000);

    it("rejects a missing model, a file that is not GGUF, --ctx-size 0 and an unknown flag", async () => {
        oneLineError(await runCli(["bench", "-m", join(root, "missing.gguf")]), /model file not found/);
        const junk = join(root, "junk.gguf");
        writeFileSync(junk, "hello");
        oneLineError(await runCli(["bench", "-m", junk]), /not a GGUF file/);
        oneLineError(await runCli(["bench", "-m", model, "--ctx-size", "-1"]), /--ctx-size must be a number of tokens/);
        const r = await runCli(["bench", "--frobnicate"]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
    });
});
