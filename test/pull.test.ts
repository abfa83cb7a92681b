// `autoglm pull` through the real CLI against a local stand-in of the Hugging Face Hub's HTTP API
// (test/helpers/hub.ts) serving synthesized checkpoints and their GGUF conversions: a safetensors
// repo converted into the models folder and found by name, a GGUF repo's quantization, resuming
// after a dropped connection and after Ctrl-C, private repos with and without a token, an unknown
// repo, a corrupted file, a full disk, HF_HUB_OFFLINE, the speech model, and the progress shown.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCheckpoint } from "../models/synthetic/generate.js";
import { expectOneLineError, BIN, ROOT, runCli } from "./helpers/cli.js";
import { HubStandIn, repoFromFolder } from "./helpers/hub.js";
import { writeTestPng, writeToneWav } from "./helpers/media.js";
import { convert } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";
import { startTty } from "./helpers/tty.js";
import { spawn } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";

const root = tempDir("pull");
const PHONE = "zai-org/AutoGLM-Phone-9B";
let hub: HubStandIn;
let checkpoint: string; // the synthesized safetensors checkpoint, sharded, in a folder named as the repo
let reference: { text: string; vision: string }; // `autoglm convert` of it, locally
let ggufDir: string; // Q4_K_M and Q8_0 conversions and the F16 mmproj, as a GGUF repository holds them
let asrCheckpoint: string;
let runs = 0;

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const files = (dir: string): string[] =>
    existsSync(dir)
        ? readdirSync(dir, { recursive: true, withFileTypes: true })
              .filter((d) => !d.isDirectory())
              .map((d) => join(d.parentPath, d.name))
        : [];

/** A fresh models folder and Hugging Face cache for one scenario, and the environment that points at them and the stand-in. */
function place(extra: Record<string, string> = {}) {
    const dir = join(root, `run-${runs++}`);
    const env: NodeJS.ProcessEnv = {
        HF_ENDPOINT: hub.url,
        HF_HUB_CACHE: join(dir, "hf-cache"),
        HF_TOKEN: "",
        HF_TOKEN_PATH: join(dir, "no-token"),
        HF_HUB_OFFLINE: "",
        AUTOGLM_MODELS: join(dir, "models"),
        ...extra,
    };
    return { dir, env, models: join(dir, "models"), cache: join(dir, "hf-cache") };
}

/** A port nothing listens on (one the system just gave and took back). */
async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

function lastLine(r: { stderr: string }, pattern: RegExp) {
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(pattern);
}

const pulled = (models: string, repo: string, quant: string) => join(models, ...repo.split("/"), quant);

beforeAll(async () => {
    checkpoint = join(root, "src", "AutoGLM-Phone-9B");
    // Shards of ~600 KB: several weight files, model.safetensors.index.json, as the real repository has.
    await generateCheckpoint(checkpoint, { arch: "glm4v", shape: "tiny", seed: 3, shardBytes: 600_000 });
    writeFileSync(join(checkpoint, "README.md"), "---\nlicense: mit\npipeline_tag: image-text-to-text\n---\n# AutoGLM-Phone-9B\n");
    const ref = await convert(checkpoint, join(root, "reference"), ["--outtype", "q4_k_m"]);
    reference = { text: ref.files.text!, vision: ref.files.vision! };
    ggufDir = join(root, "gguf-repo");
    await convert(checkpoint, ggufDir, ["--outtype", "q4_k_m"]);
    await convert(checkpoint, ggufDir, ["--outtype", "q8_0"]);
    asrCheckpoint = join(root, "src", "GLM-ASR-Nano-2512");
    await generateCheckpoint(asrCheckpoint, { arch: "glmasr", shape: "tiny", seed: 0 });
    hub = await new HubStandIn().start();
    hub.add(repoFromFolder(PHONE, checkpoint));
    hub.add(repoFromFolder("zai-org/GLM-ASR-Nano-2512", asrCheckpoint));
    hub.add(repoFromFolder("someone/AutoGLM-Phone-9B-GGUF", ggufDir));
    hub.add(repoFromFolder("team/private-phone", checkpoint, { private: true }));
    hub.tokens.add("hf_good_token");
    hub.tokens.add("mirror-token-without-the-hf-prefix");
    await writeTestPng(join(root, "screen.png"));
}, 600_000);

afterAll(async () => {
    await hub?.close();
});

describe("autoglm pull: a safetensors repository", () => {
    it("downloads, verifies and converts it (Q4_K_M + F16 encoder) into the models folder; -m NAME finds the model and its encoder; models lists it; rm removes it", async () => {
        const p = place();
        const r = await runCli(["pull", PHONE], { env: p.env, timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        const dir = pulled(p.models, PHONE, "Q4_K_M");
        expect(readdirSync(dir).sort()).toEqual([
            "AutoGLM-Phone-9B-Q4_K_M.gguf",
            "autoglm-model.json",
            "mmproj-AutoGLM-Phone-9B-vision-F16.gguf",
        ]);
        // The same bytes as converting the checkpoint here: the download is faithful and the conversion the same.
        expect(sha(join(dir, "AutoGLM-Phone-9B-Q4_K_M.gguf"))).toBe(sha(reference.text));
        expect(sha(join(dir, "mmproj-AutoGLM-Phone-9B-vision-F16.gguf"))).toBe(sha(reference.vision));
        const record = JSON.parse(readFileSync(join(dir, "autoglm-model.json"), "utf8"));
        expect(record).toMatchObject({
            repo: PHONE,
            quant: "Q4_K_M",
            source: "checkpoint",
            commit: hub.repos.get(PHONE)!.commit,
            endpoint: hub.url,
        });
        expect(r.stdout).toContain(`${PHONE}:Q4_K_M`);
        expect(r.stdout).toMatch(/next: autoglm chat -m AutoGLM-Phone-9B/);
        // Only the files the converter reads were fetched (not .gitattributes), and the download left the cache.
        const fetched = new Set(hub.downloads().map((q) => q.path));
        expect([...fetched].some((x) => x.endsWith(".gitattributes"))).toBe(false);
        expect(files(p.cache)).toEqual([]);
        expect(r.stderr.includes("\r") || r.stderr.includes("\u001b[")).toBe(false); // into a pipe: lines, no bars

        const ls = await runCli(["models", "--json"], { env: p.env });
        expect(ls.code, ls.stderr).toBe(0);
        const listed = JSON.parse(ls.stdout).models;
        expect(listed).toHaveLength(1);
        expect(listed[0]).toMatchObject({
            name: `${PHONE}:Q4_K_M`,
            quant: "Q4_K_M",
            architecture: "glm4",
            inputs: ["text", "image"],
            repo: PHONE,
        });
        const table = await runCli(["models"], { env: p.env });
        expect(table.stdout).toMatch(/^zai-org\/AutoGLM-Phone-9B:Q4_K_M\s+\S+ \S+\s+glm4\s+model\s+Q4_K_M\s+text, image$/m);

        // describe -m NAME: no --mmproj needed, the recorded encoder is used; --mmproj NAME is looked up too.
        const image = join(root, "screen.png");
        const d = await runCli(["describe", image, "-m", "AutoGLM-Phone-9B", "-n", "2", "--json", "--gpu", "cpu"], { env: p.env });
        expect(d.code, d.stderr).toBe(0);
        expect(d.stderr).toContain(`model ${join(dir, "AutoGLM-Phone-9B-Q4_K_M.gguf")} |`);
        expect(JSON.parse(d.stdout).stats.promptTokens).toBeGreaterThan(10);
        const byName = await runCli(
            ["describe", image, "-m", join(dir, "AutoGLM-Phone-9B-Q4_K_M.gguf"), "--mmproj", `${PHONE}:Q4_K_M`, "-n", "2", "--gpu", "cpu"],
            { env: p.env },
        );
        expect(byName.code, byName.stderr).toBe(0);
        const chat = await runCli(["chat", "-m", PHONE, "-n", "2", "--temp", "0", "--gpu", "cpu"], {
            env: p.env,
            input: `/image ${image}\n`,
        });
        expect(chat.code, chat.stderr).toBe(0);

        // Pulled already: nothing is fetched again.
        const before = hub.log.length;
        const again = await runCli(["pull", PHONE], { env: p.env });
        expect(again.code, again.stderr).toBe(0);
        expect(again.stderr).toMatch(/already in the models folder/);
        expect(hub.log.slice(before).filter((q) => /\/resolve\/|cdn-lfs/.test(q.path))).toEqual([]);

        const rm = await runCli(["rm", "AutoGLM-Phone-9B"], { env: p.env });
        expect(rm.code, rm.stderr).toBe(0);
        expect(rm.stdout).toMatch(/^removed zai-org\/AutoGLM-Phone-9B:Q4_K_M \(/);
        expect(files(p.models)).toEqual([]);
        expectOneLineError(await runCli(["rm", "AutoGLM-Phone-9B"], { env: p.env }), /^autoglm: no model AutoGLM-Phone-9B in /);
    }, 600_000);

    it("a tag or --outtype picks the type; --keep-download keeps the checkpoint; HF_HUB_OFFLINE then converts from the cache without a request", async () => {
        const p = place();
        const r = await runCli(["pull", `${PHONE}:Q8_0`, "--keep-download"], { env: p.env, timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(existsSync(join(pulled(p.models, PHONE, "Q8_0"), "AutoGLM-Phone-9B-Q8_0.gguf"))).toBe(true);
        const snapshot = join(p.cache, "models--zai-org--AutoGLM-Phone-9B", "snapshots", hub.repos.get(PHONE)!.commit);
        expect(readdirSync(snapshot)).toContain("model.safetensors.index.json");
        const before = hub.log.length;
        const offline = await runCli(["pull", PHONE, "--outtype", "f16"], { env: { ...p.env, HF_HUB_OFFLINE: "1" }, timeoutMs: 300_000 });
        expect(offline.code, offline.stderr).toBe(0);
        expect(hub.log.length).toBe(before); // not one request
        expect(existsSync(join(pulled(p.models, PHONE, "F16"), "AutoGLM-Phone-9B-F16.gguf"))).toBe(true);
        // Two types pulled: the short name is ambiguous, the full one is not.
        const amb = await runCli(["chat", "-m", "AutoGLM-Phone-9B"], { env: p.env });
        expectOneLineError(amb, /AutoGLM-Phone-9B could mean zai-org\/AutoGLM-Phone-9B:F16 or zai-org\/AutoGLM-Phone-9B:Q8_0/);
        expectOneLineError(
            await runCli(["pull", "zai-org/GLM-ASR-Nano-2512"], { env: { ...p.env, HF_HUB_OFFLINE: "1" } }),
            /HF_HUB_OFFLINE is set and zai-org\/GLM-ASR-Nano-2512 is not in the Hugging Face cache/,
        );
        expectOneLineError(await runCli(["pull", `${PHONE}:Q4_K_M`, "--outtype", "q8_0"], { env: p.env }), /disagree/);
    }, 600_000);

    it("the speech model: its audio encoder is recorded, and --asr-model NAME finds both", async () => {
        const p = place();
        const r = await runCli(["pull", "zai-org/GLM-ASR-Nano-2512", "--outtype", "q8_0"], { env: p.env, timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        const dir = pulled(p.models, "zai-org/GLM-ASR-Nano-2512", "Q8_0");
        expect(readdirSync(dir).sort()).toEqual([
            "GLM-ASR-Nano-2512-Q8_0.gguf",
            "autoglm-model.json",
            "mmproj-GLM-ASR-Nano-2512-audio-F16.gguf",
        ]);
        const ls = JSON.parse((await runCli(["models", "--json"], { env: p.env })).stdout).models;
        expect(ls[0]).toMatchObject({ architecture: "llama", inputs: ["text", "audio"] });
        const wav = join(root, "tone.wav");
        writeToneWav(wav, 1);
        const t = await runCli(["transcribe-and-answer", wav, "--asr-model", "GLM-ASR-Nano-2512", "-n", "2", "--gpu", "cpu", "--json"], {
            env: p.env,
        });
        expect(t.code, t.stderr).toBe(0);
        expect(t.stderr).toContain(`speech model ${join(dir, "GLM-ASR-Nano-2512-Q8_0.gguf")} |`);
    }, 600_000);
});

describe("autoglm pull: a GGUF repository", () => {
    it("takes the GGUF of the tag (Q4_K_M without one) and the F16 mmproj, byte for byte", async () => {
        const p = place();
        const repo = "someone/AutoGLM-Phone-9B-GGUF";
        const q8 = await runCli(["pull", `${repo}:q8_0`], { env: p.env });
        expect(q8.code, q8.stderr).toBe(0);
        const dir = pulled(p.models, repo, "Q8_0");
        expect(readdirSync(dir).sort()).toEqual([
            "AutoGLM-Phone-9B-Q8_0.gguf",
            "autoglm-model.json",
            "mmproj-AutoGLM-Phone-9B-vision-F16.gguf",
        ]);
        expect(sha(join(dir, "AutoGLM-Phone-9B-Q8_0.gguf"))).toBe(sha(join(ggufDir, "AutoGLM-Phone-9B-Q8_0.gguf")));
        // The Hub matches names without regard to case; the models folder keeps its spelling.
        const cased = await runCli(["pull", "SOMEONE/autoglm-phone-9b-gguf:Q8_0"], { env: p.env });
        expect(cased.stderr).toMatch(/^someone\/AutoGLM-Phone-9B-GGUF:Q8_0 is already in the models folder/m);
        const plain = await runCli(["pull", repo], { env: p.env });
        expect(plain.code, plain.stderr).toBe(0);
        expect(existsSync(join(pulled(p.models, repo, "Q4_K_M"), "AutoGLM-Phone-9B-Q4_K_M.gguf"))).toBe(true);
        expectOneLineError(await runCli(["pull", `${repo}:Q2_K`], { env: p.env }), /has no Q2_K GGUF: name one of Q4_K_M, Q8_0/);
        const d = await runCli(["describe", join(root, "screen.png"), "-m", `${repo}:Q8_0`, "-n", "2", "--gpu", "cpu"], { env: p.env });
        expect(d.code, d.stderr).toBe(0);
    }, 600_000);
});

describe("autoglm pull: interruptions and faults", () => {
    const shard = "model-00001-of-00003.safetensors";

    it("the checkpoint has the shards the fault tests name", () => {
        expect(readdirSync(checkpoint)).toContain(shard);
    });

    it("resumes after a dropped connection with a Range request from the bytes it kept", async () => {
        const p = place();
        hub.fault(PHONE, shard, { kind: "drop", afterBytes: 250_000 });
        const before = hub.log.length;
        const r = await runCli(["pull", PHONE], { env: p.env, timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`${shard}: .*; resuming from byte 250000`));
        const ranges = hub.log.slice(before).filter((q) => q.path.startsWith("/cdn-lfs/") && q.range?.startsWith("bytes=250000-"));
        expect(ranges.length).toBe(1);
        expect(sha(join(pulled(p.models, PHONE, "Q4_K_M"), "AutoGLM-Phone-9B-Q4_K_M.gguf"))).toBe(sha(reference.text));
    }, 600_000);

    it("a connection that stalls is given up after HF_HUB_DOWNLOAD_TIMEOUT seconds and resumed", async () => {
        const p = place({ HF_HUB_DOWNLOAD_TIMEOUT: "1" });
        hub.fault(PHONE, shard, { kind: "hold", afterBytes: 200_000 });
        const r = await runCli(["pull", PHONE], { env: p.env, timeoutMs: 300_000 });
        hub.release();
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`${shard}: no data for 1 s; resuming from byte 200000`));
    }, 600_000);

    it("Ctrl-C during the download leaves nothing that looks finished; the same command resumes from the bytes kept", async () => {
        const p = place();
        hub.fault(PHONE, shard, { kind: "hold", afterBytes: 300_000 });
        const child = spawn(process.execPath, [BIN, "pull", PHONE], {
            cwd: ROOT,
            env: { ...process.env, ...p.env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (d) => {
            stderr += d;
        });
        const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
        const blobs = join(p.cache, "models--zai-org--AutoGLM-Phone-9B", "blobs");
        const partialSize = () =>
            files(blobs)
                .filter((f) => f.endsWith(".incomplete"))
                .map((f) => statSync(f).size)[0] ?? 0;
        // Waits for the state (the held response, its bytes on disk), never for a time.
        while (!(hub.holding() && partialSize() === 300_000)) await new Promise((r) => setTimeout(r, 50));
        child.kill("SIGINT");
        expect(await exited).toBe(130);
        expect(stderr).toMatch(/pull: stopped; what was downloaded is kept, and the same command resumes\nautoglm: interrupted\n$/);
        hub.release();
        expect(files(p.models)).toEqual([]); // no model folder, no staging folder, no lock
        expect(partialSize()).toBe(300_000);
        const before = hub.log.length;
        const r = await runCli(["pull", PHONE], { env: p.env, timeoutMs: 300_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`resuming ${shard.replace(/\./g, "\\.")} \\(\\d+/\\d+\\) at 293 KiB`));
        const shardRequests = hub.log.slice(before).filter((q) => q.path.startsWith("/cdn-lfs/") && q.range !== "bytes=0-0");
        expect(shardRequests.some((q) => q.range?.startsWith("bytes=300000-"))).toBe(true);
        expect(sha(join(pulled(p.models, PHONE, "Q4_K_M"), "AutoGLM-Phone-9B-Q4_K_M.gguf"))).toBe(sha(reference.text));
    }, 600_000);

    it("a corrupted file is caught by its sha256: one line, the download removed, nothing in the models folder; the rerun succeeds", async () => {
        const p = place();
        hub.fault(PHONE, shard, { kind: "corrupt" });
        const r = await runCli(["pull", PHONE], { env: p.env, timeoutMs: 300_000 });
        // Into a pipe the pull says which file it is downloading; then the error, as its last line.
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr.split("\n").filter((l) => l.startsWith("autoglm:"))).toHaveLength(1);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        lastLine(
            r,
            new RegExp(
                `^autoglm: ${shard.replace(/\./g, "\\.")} from zai-org/AutoGLM-Phone-9B is corrupt: its sha256 is [0-9a-f]{64}, the Hub lists [0-9a-f]{64}`,
            ),
        );
        expect(files(p.models)).toEqual([]);
        expect(files(p.cache).filter((f) => f.endsWith(".incomplete"))).toEqual([]);
        const again = await runCli(["pull", PHONE], { env: p.env, timeoutMs: 300_000 });
        expect(again.code, again.stderr).toBe(0);
    }, 600_000);

    it("a download larger than the free space is refused before any byte is downloaded", async () => {
        const p = place();
        const huge = repoFromFolder("big/too-big", checkpoint);
        huge.files.get("model-00002-of-00003.safetensors")!.claimedSize = 2 ** 50; // a petabyte
        hub.add(huge);
        const before = hub.log.length;
        expectOneLineError(
            await runCli(["pull", "big/too-big"], { env: p.env }),
            /^autoglm: not enough free space: the download \(\d+ file\(s\)\) needs 1024 TiB in \S+ and the converted Q4_K_M model \(estimated\) needs \d+ TiB in \S+, and .* is free there; nothing was downloaded$/,
        );
        expect(hub.log.slice(before).filter((q) => /\/resolve\/|cdn-lfs/.test(q.path))).toEqual([]);
        expect(files(p.models)).toEqual([]);
        expect(files(p.cache)).toEqual([]);
    });
});

describe("autoglm pull: access", () => {
    it("a private repository: without a token one line and nothing left; HF_TOKEN (or the saved token file, or a mirror's token) pulls it; a wrong token is refused", async () => {
        const p = place();
        const none = await runCli(["pull", "team/private-phone"], { env: p.env });
        expectOneLineError(
            none,
            /^autoglm: team\/private-phone: no such model on http:\/\/127\.0\.0\.1:\d+, or it is private or gated and no token was given \(set HF_TOKEN\)$/,
        );
        expect(existsSync(p.models)).toBe(false);
        expect(existsSync(p.cache)).toBe(false);
        expectOneLineError(
            await runCli(["pull", "team/private-phone"], { env: { ...p.env, HF_TOKEN: "hf_wrong" } }),
            /^autoglm: http:\/\/127\.0\.0\.1:\d+ refused the token from HF_TOKEN \(invalid credentials\): check HF_TOKEN$/,
        );
        const before = hub.log.length;
        const ok = await runCli(["pull", "team/private-phone"], { env: { ...p.env, HF_TOKEN: "hf_good_token" }, timeoutMs: 300_000 });
        expect(ok.code, ok.stderr).toBe(0);
        const apiCalls = hub.log.slice(before).filter((q) => q.path.startsWith("/api/") || q.path.includes("/resolve/"));
        expect(apiCalls.length).toBeGreaterThan(3);
        expect(apiCalls.every((q) => q.authorization === "Bearer hf_good_token")).toBe(true);
        // The token huggingface-cli login saves, and a mirror's token without the hf_ prefix.
        const q = place();
        mkdirSync(q.dir, { recursive: true });
        writeFileSync(join(q.dir, "token"), "mirror-token-without-the-hf-prefix\n");
        const saved = await runCli(["pull", "team/private-phone", "--outtype", "q8_0"], {
            env: { ...q.env, HF_TOKEN_PATH: join(q.dir, "token") },
            timeoutMs: 300_000,
        });
        expect(saved.code, saved.stderr).toBe(0);
    }, 600_000);

    it("an unknown repository, a malformed name and an unreachable Hub are one line each and leave nothing behind", async () => {
        const p = place();
        expectOneLineError(
            await runCli(["pull", "nobody/nothing-here"], { env: p.env }),
            /^autoglm: nobody\/nothing-here: no such model on /,
        );
        expectOneLineError(await runCli(["pull", "just-a-name"], { env: p.env }), /is not a Hugging Face model: give owner\/name/);
        expectOneLineError(await runCli(["pull", "../../etc/passwd"], { env: p.env }), /is not a Hugging Face model/);
        const closed = await closedPort();
        expectOneLineError(
            await runCli(["pull", PHONE], { env: { ...p.env, HF_ENDPOINT: `http://127.0.0.1:${closed}` } }),
            new RegExp(`^autoglm: cannot reach http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`),
        );
        expectOneLineError(
            await runCli(["pull", PHONE], { env: { ...p.env, HF_ENDPOINT: "not a url" } }),
            /HF_ENDPOINT="not a url" is not a URL/,
        );
        expect(existsSync(p.models)).toBe(false);
        expect(existsSync(p.cache)).toBe(false);
    });
});

describe("autoglm pull at a terminal", () => {
    it("shows a progress bar while it downloads", async () => {
        const p = place();
        hub.fault(PHONE, "model-00002-of-00003.safetensors", { kind: "hold", afterBytes: 100_000 });
        const env = Object.fromEntries(Object.entries(p.env).filter((e): e is [string, string] => typeof e[1] === "string"));
        const t = startTty(["pull", PHONE], env);
        try {
            while (!hub.holding()) await new Promise((r) => setTimeout(r, 50)); // the download is under way, and stalls
            await t.waitFor(/download .*\d+% \| [\d.]+ \w+ \/ [\d.]+ \w+ \|/, "the progress bar");
            hub.release(); // the held connection drops: the pull resumes it and finishes
            expect(await t.exitCode()).toBe(0);
            expect(t.screen()).toMatch(/^zai-org\/AutoGLM-Phone-9B:Q4_K_M$/m);
        } finally {
            t.close();
        }
    }, 600_000);
});
