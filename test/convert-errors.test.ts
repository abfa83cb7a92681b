// Bad input to convert/quantize/info: one clear line on stderr, a non-zero exit, no output left behind.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("errors");
let good: string;

/** A copy of the good checkpoint to break. */
function copy(name: string): string {
    const dir = join(root, name);
    rmSync(dir, { recursive: true, force: true });
    cpSync(good, dir, { recursive: true });
    return dir;
}

function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp) {
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

function noGgufIn(dir: string) {
    return !existsSync(dir) || readdirSync(dir).every((f) => !f.endsWith(".gguf") && !f.endsWith(".partial"));
}

beforeAll(async () => {
    good = await synthesize(join(root, "good"), "glm4v");
});

describe("convert rejects bad input", () => {
    it("a folder without config.json", async () => {
        const dir = join(root, "empty");
        mkdirSync(dir, { recursive: true });
        expectOneLineError(await runCli(["convert", dir]), /not a Hugging Face checkpoint: no config.json/);
    });

    it("a path that does not exist, and a file instead of a folder", async () => {
        expectOneLineError(await runCli(["convert", join(root, "nope")]), /does not exist/);
        expectOneLineError(await runCli(["convert", join(good, "config.json")]), /is not a folder/);
    });

    it("an unsupported architecture, listing the supported ones", async () => {
        const dir = copy("llama");
        const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
        cfg.architectures = ["LlamaForCausalLM"];
        writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
        const r = await runCli(["convert", dir]);
        expectOneLineError(
            r,
            /unsupported architecture LlamaForCausalLM .*supported: Glm4vForConditionalGeneration, Glm4ForCausalLM, GlmasrModel/,
        );
    });

    it("config.json that is not JSON", async () => {
        const dir = copy("badjson");
        writeFileSync(join(dir, "config.json"), "{ nope");
        expectOneLineError(await runCli(["convert", dir]), /config.json .* not valid JSON/);
    });

    it("a truncated safetensors file", async () => {
        const dir = copy("truncated");
        const f = join(dir, "model.safetensors");
        truncateSync(f, readFileSync(f).length - 1000);
        expectOneLineError(await runCli(["convert", dir, "--out", dir]), /model.safetensors is truncated/);
        expect(noGgufIn(dir)).toBe(true);
    });

    it("a safetensors header that lies about its size", async () => {
        const dir = copy("corrupt");
        const f = join(dir, "model.safetensors");
        const b = readFileSync(f);
        b.writeBigUInt64LE(BigInt(b.length * 4), 0);
        writeFileSync(f, b);
        expectOneLineError(await runCli(["convert", dir, "--out", dir]), /corrupt or truncated/);
    });

    it("a missing tensor", async () => {
        const dir = copy("missing");
        // Rewrite the header without one tensor (its bytes stay, unreferenced).
        const f = join(dir, "model.safetensors");
        const b = readFileSync(f);
        const n = Number(b.readBigUInt64LE(0));
        const header = JSON.parse(b.subarray(8, 8 + n).toString());
        delete header["model.language_model.layers.1.mlp.down_proj.weight"];
        let json = JSON.stringify(header);
        json += " ".repeat(n - Buffer.byteLength(json));
        b.write(json, 8);
        writeFileSync(f, b);
        expectOneLineError(await runCli(["convert", dir, "--out", dir]), /missing tensors: model.layers.1.mlp.down_proj.weight/);
        expect(noGgufIn(dir)).toBe(true);
    });

    it("a shard listed in the index that is missing", async () => {
        const dir = copy("sharded");
        writeFileSync(
            join(dir, "model.safetensors.index.json"),
            JSON.stringify({ weight_map: { "lm_head.weight": "model-00002-of-00002.safetensors" } }),
        );
        expectOneLineError(await runCli(["convert", dir]), /shard model-00002-of-00002.safetensors .* is missing/);
    });

    it("an unknown --outtype", async () => {
        const r = await runCli(["convert", good, "--outtype", "q5_k"]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/argument 'q5_k' is invalid. Allowed choices are q4_k_m, q5_k_m, q6_k, q4_0, q8_0, f16, bf16, f32/);
    });

    it("an existing output without --force, which is left untouched", async () => {
        const out = join(root, "exists");
        const first = await convert(good, out, ["--outtype", "q8_0"]);
        const before = readFileSync(first.files.text);
        const r = await runCli(["convert", good, "--out", out, "--outtype", "q8_0"]);
        expectOneLineError(r, /already exists \(use --force to overwrite\)/);
        expect(readFileSync(first.files.text).equals(before)).toBe(true);
    });

    it("an output folder that cannot be created", async () => {
        expectOneLineError(await runCli(["convert", good, "--out", "/proc/autoglm-test"]), /cannot create the output folder/);
    });

    it("not enough free space is reported before anything is written", async (ctx) => {
        // A 256 KiB tmpfs is smaller than the tiny model's files. Needs root (mount); skipped otherwise.
        const small = join(root, "small-fs");
        mkdirSync(small, { recursive: true });
        const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small]).status === 0;
        if (!mounted) ctx.skip();
        try {
            const r = await runCli(["convert", good, "--out", small]);
            expectOneLineError(r, /not enough space in .*: the output needs .* GiB, .* GiB is free/);
            expect(readdirSync(small)).toEqual([]);
        } finally {
            spawnSync("umount", [small]);
        }
    });
});

describe("quantize and info reject bad input", () => {
    it("info on a file that is not GGUF, and on a missing file", async () => {
        const f = join(root, "text.gguf");
        writeFileSync(f, "hello");
        expectOneLineError(await runCli(["info", f]), /not a GGUF file/);
        expectOneLineError(await runCli(["info", join(root, "missing.gguf")]), /file not found/);
    });

    it("quantize of an already-quantized file", async () => {
        const { files } = await convert(good, join(root, "q"), ["--outtype", "q4_0"]);
        expectOneLineError(await runCli(["quantize", files.text, join(root, "q", "re.gguf"), "--type", "q8_0"]), /already quantized/);
        expect(existsSync(join(root, "q", "re.gguf"))).toBe(false);
    });

    it("an unknown command and an unknown flag", async () => {
        expect((await runCli(["frobnicate"])).code).toBe(2);
        const r = await runCli(["convert", good, "--bogus"]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/unknown option '--bogus'/);
    });
});

describe("an interrupted conversion leaves no file that looks finished", () => {
    it("SIGINT during writing removes the partial output", async () => {
        const big = await synthesize(join(root, "bench"), "glm4", ["--shape", "bench"]);
        const out = join(root, "interrupted");
        let pid = 0;
        const run = runCli(["convert", big, "--out", out, "--outtype", "q4_0"], {
            onSpawn: (p) => {
                pid = p;
            },
        });
        // Wait for the partial file to appear (however long a busy machine takes), then interrupt.
        while (!(existsSync(out) && readdirSync(out).some((f) => f.endsWith(".partial")))) await new Promise((r) => setTimeout(r, 50));
        process.kill(pid, "SIGINT");
        const r = await run;
        expect(r.code).toBe(130);
        expect(r.stderr).toMatch(/interrupted/);
        expect(noGgufIn(out)).toBe(true);
    });
});
