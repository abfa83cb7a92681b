// Nothing finished-looking is left by a conversion that did not finish, whatever stopped it (a
// kill at each stage, Ctrl-C, a full disk, the file size limit), the rerun needs no --force, and
// the files a --force rerun would replace survive its failure. Session files: /load checks the
// file against the size and checksum /save wrote before llama.cpp reads it, and a failed /load
// keeps the conversation. Stages are reached through AUTOGLM_TEST_FAULT pauses, not timers.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, runCli, type CliResult } from "./helpers/cli.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("lost-work");
let checkpoint: string;
/** The files of an uninterrupted conversion, by name: what every rerun must reproduce. */
const reference: Record<string, string> = {};
let model: string;
const ARGS = ["--outtype", "q8_0"];

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const finished = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".gguf")) : []);
const partials = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".partial")) : []);

function oneLine(r: CliResult, pattern: RegExp) {
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(pattern);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

/** Starts `convert` paused at `stage`, sends `signal` once it says so, and returns how it ended. */
function convertStoppedAt(stage: string, signal: NodeJS.Signals, out: string): Promise<CliResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, "convert", checkpoint, "--out", out, ...ARGS], {
            cwd: ROOT,
            env: { ...process.env, AUTOGLM_TEST_FAULT: `convert-pause:${stage}` },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "",
            stderr = "";
        const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
        child.stdout.on("data", (d) => {
            stdout += d;
        });
        let sent = false; // one signal: a second one while it winds down ends it at once, by design
        child.stderr.on("data", (d) => {
            stderr += d;
            if (!sent && stderr.includes(`paused at ${stage}`)) {
                sent = true;
                child.kill(signal);
            }
        });
        child.on("error", reject);
        child.on("close", (code, sig) => {
            clearTimeout(timer);
            resolve({ code, signal: sig, stdout, stderr });
        });
    });
}

async function expectRerunMatchesReference(out: string) {
    const r = await runCli(["convert", checkpoint, "--out", out, ...ARGS]); // no --force
    expect(r.code, r.stderr).toBe(0);
    expect(finished(out).sort()).toEqual(Object.keys(reference).sort());
    for (const f of finished(out)) expect(sha(join(out, f)), f).toBe(reference[f]);
    expect(partials(out)).toEqual([]);
}

beforeAll(async () => {
    checkpoint = await synthesize(join(root, "glm4v"), "glm4v");
    const ref = join(root, "reference");
    const { files } = await convert(checkpoint, ref, ARGS);
    for (const f of finished(ref)) reference[f] = sha(join(ref, f));
    model = files.text!;
});

describe("an interrupted conversion leaves no finished-looking file", () => {
    for (const stage of ["text", "vision", "commit"]) {
        it(`killed (SIGKILL) while at ${stage}: only .partial files stay, the rerun works without --force`, async () => {
            const out = join(root, `kill-${stage}`);
            const r = await convertStoppedAt(stage, "SIGKILL", out);
            expect(r.signal).toBe("SIGKILL");
            expect(finished(out)).toEqual([]);
            await expectRerunMatchesReference(out);
        });
    }

    it("Ctrl-C (SIGINT) in the mmproj removes every output, finished text file included", async () => {
        const out = join(root, "sigint");
        const r = await convertStoppedAt("vision", "SIGINT", out);
        expect(r.code).toBe(130);
        expect(r.stderr).toMatch(/autoglm: interrupted/);
        expect(finished(out)).toEqual([]);
        expect(partials(out)).toEqual([]);
        await expectRerunMatchesReference(out);
    });

    it("SIGTERM before the outputs are renamed removes them all", async () => {
        const out = join(root, "sigterm");
        const r = await convertStoppedAt("commit", "SIGTERM", out);
        expect(r.code).toBe(130);
        expect(finished(out)).toEqual([]);
        expect(partials(out)).toEqual([]);
    });

    it("ENOSPC in the second file: one line, nothing left, and the files a --force rerun would replace survive", async () => {
        const out = join(root, "enospc");
        const env = { AUTOGLM_TEST_FAULT: "convert-enospc:vision" };
        oneLine(
            await runCli(["convert", checkpoint, "--out", out, ...ARGS], { env }),
            /no space left on the device .*mmproj-glm4v-vision-F16\.gguf.*nothing was left half-written/,
        );
        expect(finished(out)).toEqual([]);
        expect(partials(out)).toEqual([]);
        await expectRerunMatchesReference(out);
        // Now the outputs exist: a --force rerun that fails keeps them as they were.
        oneLine(await runCli(["convert", checkpoint, "--out", out, "--force", ...ARGS], { env }), /no space left on the device/);
        for (const f of finished(out)) expect(sha(join(out, f)), f).toBe(reference[f]);
        expect(partials(out)).toEqual([]);
    });

    it("the file size limit (ulimit -f) reached in the mmproj: one line, not SIGXFSZ, nothing left", async () => {
        const out = join(root, "ulimit");
        const sizes = Object.keys(reference).map((f) => statSync(join(root, "reference", f)).size);
        const text = sizes[Object.keys(reference).findIndex((f) => !f.startsWith("mmproj"))]!;
        const mmproj = sizes[Object.keys(reference).findIndex((f) => f.startsWith("mmproj"))]!;
        expect(mmproj).toBeGreaterThan(text + 4096); // a limit between the two sizes stops the second file only
        const limitKiB = Math.floor((text + mmproj) / 2 / 1024);
        const r = spawnSync(
            "bash",
            ["-c", `ulimit -f ${limitKiB}; exec "$0" "$@"`, process.execPath, BIN, "convert", checkpoint, "--out", out, ...ARGS],
            { cwd: ROOT, encoding: "utf8" },
        );
        oneLine(
            { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr },
            /file size limit \(ulimit -f\).*nothing was left half-written/,
        );
        expect(finished(out)).toEqual([]);
        expect(partials(out)).toEqual([]);
    });
});

describe("session files", () => {
    let saved: string;
    const GREEDY = ["--temp", "0", "--stats", "--json", "--gpu", "cpu"];
    const reused = (stderr: string) => [...stderr.matchAll(/\[prompt: (\d+) new tokens, (\d+) reused/g)].map((m) => Number(m[2]));

    beforeAll(async () => {
        saved = join(root, "chat.bin");
        const r = await runCli(["chat", "-m", model, ...GREEDY, "-n", "8"], { input: `Open the settings\n/save ${saved}\n` });
        expect(r.code, r.stderr).toBe(0);
        const json = JSON.parse(readFileSync(`${saved}.json`, "utf8"));
        expect(json.session).toEqual({ bytes: statSync(saved).size, sha256: sha(saved) });
    });

    /** A copy of the saved pair, `edit` applied, loaded in a chat that already has one turn; the turn after must reuse that turn. */
    async function loadBroken(name: string, edit: (bin: string) => void, pattern: RegExp) {
        const bin = join(root, name);
        copyFileSync(saved, bin);
        copyFileSync(`${saved}.json`, `${bin}.json`);
        edit(bin);
        const r = await runCli(["chat", "-m", model, ...GREEDY, "-n", "6"], { input: `Hi\n/load ${bin}\nAnd then?\n` });
        expect(r.signal).toBeNull();
        expect(r.code).toBe(1); // line mode: a failed command makes the exit code 1 at the end
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr).not.toMatch(/internal error|GGML_ASSERT/);
        const [first, second] = reused(r.stderr);
        expect(first).toBe(0);
        expect(second).toBeGreaterThan(0); // the conversation before the failed /load went on
    }

    it("a truncated session file is refused before llama.cpp reads it", async () => {
        await loadBroken(
            "truncated.bin",
            (bin) => truncateSync(bin, Math.floor(statSync(bin).size / 2)),
            /truncated\.bin has \d+ bytes but was saved with \d+ .*not loaded/,
        );
    });

    it("an 80-byte session file is refused (no allocation from what it claims)", async () => {
        await loadBroken(
            "tiny.bin",
            (bin) => writeFileSync(bin, readFileSync(bin).subarray(0, 80)),
            /tiny\.bin has 80 bytes but was saved with/,
        );
    });

    it("a session file with its bytes changed fails the checksum", async () => {
        await loadBroken(
            "flipped.bin",
            (bin) => {
                const b = readFileSync(bin);
                b[b.length - 7] ^= 0xff;
                writeFileSync(bin, b);
            },
            /does not match the checksum/,
        );
    });

    it("a malformed conversation JSON is a one-line error, not exit 70", async () => {
        await loadBroken(
            "badjson.bin",
            (bin) => writeFileSync(`${bin}.json`, "{ not json"),
            /badjson\.bin\.json is not a saved autoglm conversation/,
        );
        await loadBroken(
            "badmsg.bin",
            (bin) => {
                const j = JSON.parse(readFileSync(`${bin}.json`, "utf8"));
                j.messages = [{ role: "wizard", content: 5 }];
                writeFileSync(`${bin}.json`, JSON.stringify(j));
            },
            /badmsg\.bin\.json is not a saved autoglm conversation \(messages must be/,
        );
        await loadBroken(
            "badrecord.bin",
            (bin) => {
                const j = JSON.parse(readFileSync(`${bin}.json`, "utf8"));
                j.record.items = ["x", -1];
                writeFileSync(`${bin}.json`, JSON.stringify(j));
            },
            /a bad record/,
        );
    });

    it("a good session still loads and continues from the cache", async () => {
        const r = await runCli(["chat", "-m", model, ...GREEDY, "-n", "6"], { input: `/load ${saved}\nThen what?\n` });
        expect(r.code, r.stderr).toBe(0);
        expect(reused(r.stderr)[0]).toBeGreaterThan(0);
        rmSync(join(root, "truncated.bin"), { force: true });
    });
});
