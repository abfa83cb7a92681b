// `autoglm bench` through the real CLI: results and the llama-bench comparison on a tiny model,
// and one-line errors for bad input.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
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
        const r = await runCli(["bench", "-m", model, "-p", "64", "-n", "16", "-r", "2", "--json", "--compare-llama-bench"], { timeoutMs: 300_000 });
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
        expect(r.stderr).toMatch(/backend cpu \| loaded in/);
    }, 600_000); // a busy 2-core machine runs both benchmarks for minutes

    it("uses the built-in demo model when no --model is given, and says so", async () => {
        const r = await runCli(["bench", "-p", "16", "-n", "4", "-r", "1"], { timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/random-weight demo model/);
        expect(r.stdout).toMatch(/tg4 /);
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
        oneLineError(await runCli(["bench", "-m", model, "--ctx-size", "0"]), /--ctx-size must be a positive/);
        const r = await runCli(["bench", "--frobnicate"]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
    });
});
