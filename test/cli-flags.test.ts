// Flags as llama.cpp and Ollama users type them, environment variables, the light start-up, the
// discovery commands (devices, models), shell completion and one-line path errors, all through
// the real CLI as a child process, on the built-in demo model.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultModel } from "../models/default-model.js";
import { expectOneLineError, BIN, ROOT, runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("flags");
let demo: { text: string; vision: string };

beforeAll(async () => {
    demo = await defaultModel();
}, 300_000);

/** The token counts of a chat --json run's answers. */
const answerTokens = (stdout: string) =>
    stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).stats.answerTokens as number);

describe("llama.cpp's flag names", () => {
    it("-ngl 99 and -c 0 run (all layers / the model's trained context), where -ngl was read as -n gl", async () => {
        const r = await runCli(["chat", "-m", demo.text, "-ngl", "99", "-c", "0", "--temp", "0", "-n", "3", "--ignore-eos", "--json"], {
            input: "Hello\n",
        });
        expect(r.code, r.stderr).toBe(0);
        expect(answerTokens(r.stdout)).toEqual([3]);
        expect(r.stderr).not.toMatch(/must be a positive integer/);
        const spelled = await runCli(
            ["chat", "-m", demo.text, "--n-gpu-layers=max", "--n-predict", "2", "--temp", "0", "--ignore-eos", "--json"],
            { input: "Hello\n" },
        );
        expect(spelled.code, spelled.stderr).toBe(0);
        expect(answerTokens(spelled.stdout)).toEqual([2]);
        expectOneLineError(
            await runCli(["chat", "-ngl", "lots"]),
            /--gpu-layers must be a number of layers >= 0, max, all or auto, got "lots"/,
        );
        expectOneLineError(await runCli(["chat", "-c", "-5"]), /--ctx-size must be a number of tokens \(0: the model's trained context\)/);
    }, 300_000);

    it("each command's help lists the spellings it takes and every flag's variable", async () => {
        const chat = await runCli(["chat", "--help"]);
        expect(chat.code).toBe(0);
        expect(chat.stdout).toMatch(/-ngl = --gpu-layers/);
        expect(chat.stdout).toMatch(/--n-predict = --max-tokens/);
        expect(chat.stdout).toMatch(/env:\s+AUTOGLM_GPU_LAYERS/);
        expect(chat.stdout).toMatch(/env:\s+AUTOGLM_MAX_TOKENS/);
        const bench = await runCli(["bench", "--help"]);
        expect(bench.stdout).toMatch(/-p, --n-prompt/);
        expect(bench.stdout).toMatch(/--r = --repetitions/);
        const top = await runCli(["--help"]);
        expect(top.stdout).toMatch(/AUTOGLM_GPU_LAYERS=99/);
        expect(top.stdout).toMatch(/npx autoglm/);
    });

    it("describe and transcribe-and-answer share -p/--prompt; -q/--question still work", async () => {
        for (const cmd of ["describe", "transcribe-and-answer"]) {
            const h = await runCli([cmd, "--help"]);
            expect(h.stdout, cmd).toMatch(/-p, --prompt <text>/);
            expect(h.stdout, cmd).toMatch(/--question = --prompt/);
        }
        // The alias reaches the command: a missing recording is reported, not an unknown option.
        expectOneLineError(
            await runCli(["transcribe-and-answer", join(root, "missing.wav"), "-q", "what?", "--asr-model", demo.text]),
            /audio not found: .*missing\.wav/, // checked before anything else loads
        );
    });
});

describe("environment variables", () => {
    it("AUTOGLM_<FLAG> sets a flag; the command line wins; a bad value is one line", async () => {
        const env = { AUTOGLM_MAX_TOKENS: "3", AUTOGLM_IGNORE_EOS: "1", AUTOGLM_JSON: "1", AUTOGLM_TEMP: "0", AUTOGLM_MODEL: demo.text };
        const fromEnv = await runCli(["chat"], { input: "Hello\n", env });
        expect(fromEnv.code, fromEnv.stderr).toBe(0);
        expect(answerTokens(fromEnv.stdout)).toEqual([3]);
        expect(fromEnv.stderr).not.toMatch(/demo model/); // AUTOGLM_MODEL was used
        const flagWins = await runCli(["chat", "-n", "2"], { input: "Hello\n", env });
        expect(answerTokens(flagWins.stdout)).toEqual([2]);
        // A switch set to 0 is off: plain text, not JSON.
        const off = await runCli(["chat"], { input: "Hello\n", env: { ...env, AUTOGLM_JSON: "0" } });
        expect(off.code, off.stderr).toBe(0);
        expect(() => JSON.parse(off.stdout.trim().split("\n")[0]!)).toThrow();
        expectOneLineError(
            await runCli(["chat"], { env: { AUTOGLM_GPU: "quantum" } }),
            /AUTOGLM_GPU="quantum": Allowed choices are auto, cuda, vulkan, metal, cpu/,
        );
        expectOneLineError(
            await runCli(["chat"], { env: { AUTOGLM_MAX_TOKENS: "many" } }),
            /AUTOGLM_MAX_TOKENS="many": --max-tokens must be a positive integer/,
        );
    }, 300_000);
});

describe("start-up", () => {
    it("--help and --version load neither node-llama-cpp nor sharp nor fastify (module-load log, not time)", () => {
        for (const args of [["--help"], ["--version"], ["chat", "--help"], ["serve", "--help"]]) {
            const log = join(root, `modules-${args.join("-")}.txt`);
            const r = spawnSync(process.execPath, ["--import", join(ROOT, "test/helpers/module-log.mjs"), BIN, ...args], {
                cwd: ROOT,
                env: { ...process.env, AUTOGLM_MODULE_LOG: log },
                encoding: "utf8",
            });
            expect(r.status, r.stderr).toBe(0);
            const loaded = readFileSync(log, "utf8");
            expect(loaded, "the log sees the CLI's own modules").toMatch(/dist\/src\/cli\/main\.js/);
            for (const pkg of ["node-llama-cpp", "sharp", "fastify", "ora"])
                expect(loaded, `${args.join(" ")} loaded ${pkg}`).not.toMatch(new RegExp(`node_modules/${pkg}/`));
        }
    });
});

/** Every file under `dir` with its size and mtime, to see that nothing was written there. */
function snapshot(dir: string): string {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const name of readdirSync(d)) {
            const p = join(d, name),
                s = statSync(p);
            if (s.isDirectory()) walk(p);
            else out.push(`${p} ${s.size} ${s.mtimeMs}`);
        }
    };
    walk(dir);
    return out.sort().join("\n");
}

describe("devices and GPU choice", () => {
    it("autoglm devices (and --list-devices) lists the loadable backends and the --gpu auto pick", async () => {
        const r = await runCli(["devices", "--json"], { timeoutMs: 120_000 });
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout) as {
            backends: { backend: string; loads: boolean; devices: string[]; vram?: { total: number } }[];
            auto: string;
        };
        const cpu = j.backends.find((b) => b.backend === "cpu")!;
        expect(cpu.loads).toBe(true);
        expect(cpu.vram!.total).toBeGreaterThan(0);
        expect(j.backends.filter((b) => b.loads).map((b) => b.backend)).toContain(j.auto);
        const text = await runCli(["--list-devices"], { timeoutMs: 120_000 });
        expect(text.code, text.stderr).toBe(0);
        expect(text.stdout).toMatch(/^backend\s+loads\s+devices/m);
        expect(text.stdout).toMatch(/^cpu\s+yes\s+/m);
        expect(text.stdout).toMatch(new RegExp(`--gpu auto uses: ${j.auto}`));
    }, 300_000);

    it.skipIf(existsSync("/dev/nvidiactl"))(
        "--gpu cuda without CUDA is one line and a non-zero exit, and writes nothing under node_modules",
        async () => {
            const pkg = join(ROOT, "node_modules", "node-llama-cpp");
            const before = snapshot(pkg);
            const du = () => execFileSync("du", ["-sb", join(ROOT, "node_modules/")], { encoding: "utf8" }).split("\t")[0];
            const size = du();
            const r = await runCli(["chat", "-m", demo.text, "--gpu", "cuda"], { input: "Hello\n", timeoutMs: 120_000 });
            expectOneLineError(r, /--gpu cuda: this machine cannot run node-llama-cpp's cuda backend/);
            expect(snapshot(pkg)).toBe(before);
            expect(du()).toBe(size);
        },
        300_000,
    );
});

describe("the models folder", () => {
    it("autoglm models (ls) lists its GGUFs; -m NAME finds one there", async () => {
        const dir = join(root, "models");
        mkdirSync(dir);
        const empty = await runCli(["models"], { env: { AUTOGLM_MODELS: dir } });
        expect(empty.code).toBe(0);
        expect(empty.stdout).toMatch(/no models in/);
        copyFileSync(demo.text, join(dir, "demo.gguf"));
        copyFileSync(demo.vision, join(dir, "demo-vision.gguf"));
        writeFileSync(join(dir, "notes.txt"), "not a model");
        const r = await runCli(["ls", "--json"], { env: { AUTOGLM_MODELS: dir } });
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(j.folder).toBe(dir);
        expect(j.models.map((m: { name: string }) => m.name)).toEqual(["demo-vision.gguf", "demo.gguf"]);
        expect(j.models[1]).toMatchObject({ architecture: "glm4", kind: "model", type: "q8_0", bytes: statSync(demo.text).size });
        expect(j.models[0]).toMatchObject({ architecture: "clip", kind: "mmproj (vision)" });
        const text = await runCli(["models"], { env: { AUTOGLM_MODELS: dir } });
        expect(text.stdout).toMatch(/^demo\.gguf\s+\S+ \S+\s+glm4\s+model\s+Q8_0\s+text$/m);
        const byName = await runCli(["chat", "-m", "demo", "--temp", "0", "-n", "2", "--ignore-eos", "--json"], {
            input: "Hello\n",
            env: { AUTOGLM_MODELS: dir },
        });
        expect(byName.code, byName.stderr).toBe(0);
        expect(byName.stderr).toContain(`model ${join(dir, "demo.gguf")} |`);
    }, 300_000);
});

describe("one-line errors for paths", () => {
    it("info and -m: missing, a folder, a Hugging Face folder or a .safetensors file (which suggest autoglm convert)", async () => {
        const hf = join(root, "hf");
        mkdirSync(hf);
        writeFileSync(join(hf, "config.json"), "{}");
        writeFileSync(join(hf, "model.safetensors"), "x");
        expectOneLineError(await runCli(["info", join(root, "nope.gguf")]), /^autoglm: file not found: /);
        expectOneLineError(await runCli(["info", root]), /is a folder, not a GGUF file/);
        expectOneLineError(
            await runCli(["info", hf]),
            /is a Hugging Face checkpoint folder, not a GGUF file: convert it first with `autoglm convert /,
        );
        expectOneLineError(await runCli(["chat", "-m", hf]), /Hugging Face checkpoint folder.*autoglm convert/);
        expectOneLineError(
            await runCli(["chat", "-m", join(hf, "model.safetensors")]),
            /safetensors file, not GGUF: convert .*autoglm convert/,
        );
        expectOneLineError(await runCli(["chat", "-m", demo.text, "--mmproj", hf]), /Hugging Face checkpoint folder/);
    });

    it("/audio with a missing file or a folder says so in one line, as /image does", async () => {
        const r = await runCli(["chat", "-m", demo.text, "--mmproj", demo.vision, "--temp", "0"], {
            input: `/audio ${join(root, "missing.wav")}\n/audio ${root}\n/image ${join(root, "missing.png")}\n`,
        });
        expect(r.code).toBe(1); // line mode: a failed command is recorded
        expect(r.stderr).toContain(`autoglm: audio not found: ${join(root, "missing.wav")}`);
        expect(r.stderr).toContain(`autoglm: ${root} is not a file`);
        expect(r.stderr).toContain(`autoglm: image not found: ${join(root, "missing.png")}`);
        expect(r.stderr).not.toMatch(/ENOENT|EISDIR/);
    }, 300_000);
});

describe("shell completion", () => {
    const bash = (words: string[]) => {
        const script = `source <("${process.execPath}" "${BIN}" completion bash) && COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}) && COMP_CWORD=${words.length - 1} && _autoglm && printf '%s\\n' "\${COMPREPLY[@]}"`;
        return execFileSync("bash", ["-c", script], { encoding: "utf8" }).trim().split("\n");
    };

    it("the bash script loads and completes commands, flags (with llama.cpp spellings) and choices", () => {
        expect(
            execFileSync("bash", ["-c", `source <("${process.execPath}" "${BIN}" completion bash) && complete -p autoglm`], {
                encoding: "utf8",
            }),
        ).toMatch(/-F _autoglm autoglm/);
        expect(bash(["autoglm", "de"])).toEqual(["describe", "devices"]);
        expect(bash(["autoglm", "chat", "--gpu"])).toEqual(expect.arrayContaining(["--gpu", "--gpu-layers"]));
        expect(bash(["autoglm", "chat", "-ng"])).toEqual(["-ngl"]);
        expect(bash(["autoglm", "serve", "--log-format", ""])).toEqual(["text", "json"]);
        expect(bash(["autoglm", "bench", "--gpu", "c"])).toEqual(["cuda", "cpu"]);
    });

    it.skipIf(spawnSync("zsh", ["--version"]).error !== undefined)("the zsh script parses", () => {
        const file = join(root, "_autoglm");
        writeFileSync(file, execFileSync(process.execPath, [BIN, "completion", "zsh"], { encoding: "utf8" }));
        expect(spawnSync("zsh", ["-n", file]).status).toBe(0);
    });

    it("an unknown shell is one line", async () => {
        expectOneLineError(await runCli(["completion", "fish"]), /no script for "fish" \(bash or zsh\)/);
    });
});
