// `autoglm chat` driven through the real CLI with stdin not a terminal (one prompt per line).
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli, startCli } from "./helpers/cli.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("chat");
let model: string;
const GREEDY = ["--temp", "0", "--stats", "--json"];

/** The answers of a --json line-mode run (answers may contain newlines; JSON lines do not). */
function answers(stdout: string): string[] {
    return stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).content);
}

interface Stats {
    fresh: number;
    reused: number;
    answer: number;
    reason: string;
}
function stats(stderr: string): Stats[] {
    return [...stderr.matchAll(/\[prompt: (\d+) new tokens, (\d+) reused, .* answer: (\d+) tokens, .* tok\/s, (\w+)\]/g)].map((m) => ({
        fresh: Number(m[1]),
        reused: Number(m[2]),
        answer: Number(m[3]),
        reason: m[4],
    }));
}

beforeAll(async () => {
    const dir = await synthesize(join(root, "glm4v"), "glm4v");
    model = (await convert(dir, join(root, "out"), ["--outtype", "q8_0"])).files.text;
});

describe("autoglm chat (line mode)", () => {
    it("answers each line; the second turn evaluates only its new tokens", async () => {
        const r = await runCli(["chat", "-m", model, ...GREEDY, "-n", "10"], { input: "Hello there\nWhat comes next?\n" });
        expect(r.code, r.stderr).toBe(0);
        expect(answers(r.stdout)).toHaveLength(2);
        const [t1, t2] = stats(r.stderr);
        expect(t1.reused).toBe(0);
        // Turn 2 reuses turn 1's prompt and answer (all but an undecoded last token) from the cache.
        expect(t2.reused).toBeGreaterThanOrEqual(t1.fresh + t1.answer - 1);
        // Only the new user turn (and the one undecoded answer token) is evaluated: about 13 tokens here.
        expect(t2.fresh).toBeLessThanOrEqual(16);
        expect(t2.fresh).toBeLessThan(t2.reused);
        expect(r.stderr).toMatch(/backend cpu \| (\d+\/\d+ layers on .* \| )?loaded in .* \| RAM /);
    });

    it("/save then /load gives the identical greedy continuation", async () => {
        const file = join(root, "conversation.bin");
        const a = await runCli(["chat", "-m", model, ...GREEDY, "-n", "12"], { input: `Open the settings\n/save ${file}\nThen what?\n` });
        expect(a.code, a.stderr).toBe(0);
        const b = await runCli(["chat", "-m", model, ...GREEDY, "-n", "12"], { input: `/load ${file}\nThen what?\n` });
        expect(b.code, b.stderr).toBe(0);
        const answersA = answers(a.stdout),
            answersB = answers(b.stdout);
        expect(answersB[0]).toBe(answersA[1]);
        // Restored from the file, the follow-up evaluated only its own tokens.
        expect(stats(b.stderr)[0].reused).toBe(stats(a.stderr)[1].reused);
    });

    it("/save to an unwritable place and /load of a broken file are one-line errors; the chat goes on", async () => {
        const broken = join(root, "broken.bin");
        writeFileSync(broken, "junk");
        writeFileSync(`${broken}.json`, JSON.stringify({ version: 1, messages: [], lastText: "", lastTokens: [] }));
        const r = await runCli(["chat", "-m", model, ...GREEDY, "-n", "6"], {
            input: `Hi\n/save /nonexistent-dir/x.bin\n/load ${broken}\nHi\n`,
        });
        expect(r.stderr).toMatch(/^autoglm: could not save the session/m);
        expect(r.stderr).toMatch(/^autoglm: .*broken.bin.json was saved by an older autoglm without a checksum/m);
        expect(r.stderr).not.toMatch(/internal error/);
        const a = answers(r.stdout);
        expect(a).toHaveLength(2);
        // The failed load kept the conversation: the second turn reuses the first from the cache.
        expect(stats(r.stderr)[1].reused).toBeGreaterThan(stats(r.stderr)[0].fresh - 1);
        expect(r.code).toBe(1);
    });

    it("/reset forgets the conversation; /help and unknown commands answer on stderr", async () => {
        const r = await runCli(["chat", "-m", model, ...GREEDY, "-n", "6"], { input: "Hi\n/reset\nHi\n/help\n/bogus\n" });
        const lines = answers(r.stdout);
        expect(lines[1]).toBe(lines[0]); // same prompt after a reset: same greedy answer
        expect(stats(r.stderr)[1].reused).toBe(0);
        expect(r.stderr).toMatch(/\/save FILE/);
        expect(r.stderr).toMatch(/unknown command \/bogus/);
    });

    it("Ctrl-C stops the current answer and the conversation goes on", async () => {
        // --stats says on stderr when the answer begins (nothing streams in line mode): the signal goes after it.
        const run = startCli(
            ["chat", "-m", model, ...GREEDY, "--ignore-eos", "-n", "1000000", "-c", "1000100"],
            "/help\nTalk forever\n/exit\n",
        );
        while (!/\[answering: \d+ prompt tokens/.test(run.stderr())) await new Promise((r) => setTimeout(r, 20));
        run.child.kill("SIGINT");
        const r = await run.done;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/\[stopped\]/);
        const [t] = stats(r.stderr);
        expect(t.reason).toBe("aborted");
        expect(t.answer).toBeLessThan(1000000);
        expect(answers(r.stdout)).toHaveLength(1); // the stopped answer, then /exit: the chat went on to read it
    });

    it("answers follow a GBNF grammar or a JSON schema; a broken grammar is a one-line error", async () => {
        const gbnf = join(root, "yes-no.gbnf");
        writeFileSync(gbnf, 'root ::= "yes" | "no"\n');
        const g = await runCli(["chat", "-m", model, "--temp", "0.9", "--seed", "7", "-n", "20", "--json", "--grammar-file", gbnf], {
            input: "Is it?\nReally?\n",
        });
        expect(g.code, g.stderr).toBe(0);
        expect(answers(g.stdout)).toHaveLength(2);
        for (const a of answers(g.stdout)) expect(["yes", "no"]).toContain(a);
        const schema = JSON.stringify({ type: "object", properties: { answer: { enum: ["yes", "no"] } } });
        const j = await runCli(["chat", "-m", model, "--temp", "0", "-n", "40", "--json", "--json-schema", schema], {
            input: "Is the sky blue?\n",
        });
        expect(j.code, j.stderr).toBe(0);
        expect(["yes", "no"]).toContain(JSON.parse(answers(j.stdout)[0]).answer);
        const bad = join(root, "bad.gbnf");
        writeFileSync(bad, "root ::= (\n");
        const b = await runCli(["chat", "-m", model, "--grammar-file", bad], { input: "Hi\n" });
        expect(b.code).toBe(1);
        expect(b.stderr).toMatch(/^autoglm: invalid grammar/m); // (llama.cpp logs its parser's complaint too)
        expect(b.stderr).not.toMatch(/internal error/);
    });

    it("--stop ends the answer before a stop string, and the conversation goes on", async () => {
        const plain = await runCli(["chat", "-m", model, ...GREEDY, "-n", "24"], { input: "Open the settings\n" });
        const full = answers(plain.stdout)[0];
        expect(full.length).toBeGreaterThan(12);
        const stop = full.slice(6, 9);
        const cut = full.slice(0, full.indexOf(stop)).trim();
        const r = await runCli(["chat", "-m", model, ...GREEDY, "-n", "24", "--stop", stop], { input: "Open the settings\nAnd then?\n" });
        expect(r.code, r.stderr).toBe(0);
        const lines = r.stdout
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        expect(lines[0].content).toBe(cut);
        expect(lines[0].stats.reason).toBe("stop");
        expect(lines).toHaveLength(2);
        expect(lines[1].stats.reusedTokens).toBeGreaterThan(0);
    });

    it("bad input: missing model, not a GGUF, a negative --ctx-size, an unknown flag", async () => {
        const missing = await runCli(["chat", "-m", join(root, "nope.gguf")]);
        expect(missing.code).toBe(1);
        expect(missing.stderr.trim().split("\n").pop()).toMatch(/model file not found/);
        const junk = join(root, "junk.gguf");
        writeFileSync(junk, "plain text");
        const notGguf = await runCli(["chat", "-m", junk]);
        expect(notGguf.code).toBe(1);
        expect(notGguf.stderr.trim().split("\n").pop()).toMatch(/not a GGUF file/);
        const negative = await runCli(["chat", "-m", model, "--ctx-size", "-1"]); // 0 is the model's trained context
        expect(negative.code).toBe(1);
        expect(negative.stderr).toMatch(/--ctx-size must be a number of tokens/);
        const flag = await runCli(["chat", "--nope"]);
        expect(flag.code).toBe(2);
        expect(flag.stderr).toMatch(/unknown option '--nope'/);
    });

    it("a GPU backend this machine cannot run is one line and a non-zero exit, never a source build", async () => {
        const llamaDir = join(ROOT, "node_modules", "node-llama-cpp", "llama");
        const files = () => readdirSync(llamaDir, { recursive: true }).length;
        const before = files();
        const wanted = [...(process.platform === "darwin" ? [] : ["metal"]), ...(existsSync("/dev/nvidiactl") ? [] : ["cuda"])];
        for (const gpu of wanted) {
            const r = await runCli(["chat", "-m", model, "--gpu", gpu, "-n", "1"], { input: "hi\n" });
            expect(r.code, gpu).toBe(1);
            expect(r.stderr.trim().split("\n").pop()).toMatch(new RegExp(`^autoglm: --gpu ${gpu}: this machine cannot run`));
            expect(r.stderr).not.toMatch(/cmake|Compiling|\n\s+at /i);
        }
        expect(files()).toBe(before); // nothing was built or downloaded under node_modules
    });
});
