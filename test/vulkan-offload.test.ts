// GPU offload on every CI run. Mesa's llvmpipe is a real Vulkan device whose shaders run on the CPU:
// with GGML_VK_VISIBLE_DEVICES=0 (ggml's Vulkan backend skips CPU-type devices otherwise) the model's
// layers and the vision encoder run through ggml's Vulkan code. Checked: everything is offloaded, ops
// of both graphs really ran on the device (ggml's Vulkan perf logger lists them), greedy tokens equal
// the CPU backend's up to the first near-tie, and the chat sequence (a text turn, then an image turn)
// that once aborted in libvulkan_lvp runs clean, repeatedly.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli } from "./helpers/cli.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, info, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const VULKAN_ADDON = join(ROOT, "native/build/linux-x64-vulkan/autoglm.node");
const LLVMPIPE = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
const ready = existsSync(VULKAN_ADDON) && existsSync(LLVMPIPE);
const VK_ENV = { GGML_VK_VISIBLE_DEVICES: "0" };
/**
 * Below this logit margin the CPU's choice is a near-tie: the backends sum and round in other orders and
 * precisions (ggml-cpu quantizes activations to q8_0 for q8_0 weights), which moves these logits ~1e-2.
 */
const NEAR_TIE = 0.05;

if (!ready && process.env.CI) {
    throw new Error(
        `the Vulkan offload test needs the Vulkan addon build (${VULKAN_ADDON}) and Mesa's llvmpipe (${LLVMPIPE}): run scripts/install-system-deps.sh, then npm run build:native`,
    );
}
if (!ready)
    console.warn(
        "vulkan-offload: SKIPPED, no Vulkan addon build or no llvmpipe here (scripts/install-system-deps.sh, then npm run build:native)",
    );

interface GreedyRun {
    backend: string;
    gpu: string | false;
    devices: string[];
    gpuLayers: number;
    totalLayers: number;
    textTokens: number[];
    imageTokens: number[];
    margins?: number[];
    nodeLlamaCppTokens?: number[];
}

function greedyRun(gpu: string, env: NodeJS.ProcessEnv = {}): Promise<{ run: GreedyRun; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(ROOT, "test/helpers/greedy-run.mjs"), model, mmproj, gpu, image, "24", "8"], {
            cwd: ROOT,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "",
            stderr = "";
        child.stdout.on("data", (d) => {
            stdout += d;
        });
        child.stderr.on("data", (d) => {
            stderr += d;
        });
        child.on("error", reject);
        child.on("close", (code, signal) => {
            if (code !== 0) return reject(new Error(`greedy-run ${gpu} exited ${code ?? signal}: ${stderr.slice(-2000)}`));
            resolve({ run: JSON.parse(stdout.trim().split("\n").pop()!), stderr });
        });
    });
}

/** The ops ggml's Vulkan perf logger reports, before and after the image turn began. */
function deviceOps(stderr: string): { text: string[]; image: string[] } {
    const [before, after = ""] = stderr.split("greedy-run: image turn");
    const ops = (s: string) => s.split("\n").filter((l) => /^[A-Z_]+[ :(]/.test(l) && l.includes(" us"));
    return { text: ops(before!), image: ops(after) };
}

const root = tempDir("vulkan");
let model = "",
    mmproj = "",
    image = "",
    visionWidth = 0;

beforeAll(async () => {
    if (!ready) return;
    const files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    model = files.text!;
    mmproj = files.vision!;
    visionWidth = Number((await info(mmproj)).metadata["clip.vision.embedding_length"]);
    image = join(root, "picture.png");
    await writeTestPng(image, 96, 64);
});

describe.skipIf(!ready)("Vulkan offload on llvmpipe", () => {
    it("puts every layer and the vision encoder on the device, and greedy tokens equal the CPU's up to the first near-tie", async () => {
        const cpu = (await greedyRun("cpu")).run;
        const { run: vk, stderr } = await greedyRun("vulkan", { ...VK_ENV, GGML_VK_PERF_LOGGER: "1" });

        expect(cpu.backend).toBe("cpu");
        expect(vk).toMatchObject({ backend: "vulkan", gpu: "vulkan", gpuLayers: vk.totalLayers });
        expect(vk.devices.join()).toMatch(/llvmpipe/);
        // The CPU run's tokens are node-llama-cpp's own greedy choices along the same prompt.
        expect(cpu.nodeLlamaCppTokens).toEqual(cpu.textTokens);

        const ops = deviceOps(stderr);
        expect(ops.text.some((l) => /^MUL_MAT\S* q8_0/.test(l))).toBe(true); // the model's q8_0 weights, on the device
        // The encoder's graph, on the device: its norms run at the vision width, which the text model lacks.
        expect(ops.image.some((l) => l.includes(`NORM(${visionWidth},`))).toBe(true);

        const firstDiff = cpu.textTokens.findIndex((t, i) => vk.textTokens[i] !== t);
        const firstTie = cpu.margins!.findIndex((m) => m < NEAR_TIE);
        if (firstDiff >= 0)
            expect(firstTie, `tokens part at ${firstDiff} with a margin of ${cpu.margins![firstDiff]}`).toBeGreaterThanOrEqual(0);
        if (firstDiff >= 0) expect(firstDiff).toBeGreaterThanOrEqual(firstTie);
        expect(vk.imageTokens).toHaveLength(8);
    }, 900_000);

    it("chat --gpu vulkan: a text turn then an image turn, three times over, ends clean each time", async () => {
        for (let i = 0; i < 3; i++) {
            const r = await runCli(["chat", "-m", model, "--mmproj", mmproj, "--gpu", "vulkan", "-n", "6", "--temp", "0"], {
                input: `hello there\n/image ${image} what is this\n/exit\n`,
                env: VK_ENV,
                timeoutMs: 600_000,
            });
            expect(r.signal, r.stderr).toBeNull();
            expect(r.stderr).not.toMatch(/double free|corruption|Aborted|internal error/);
            expect(r.code, r.stderr).toBe(0);
            expect(r.stderr).toMatch(/backend vulkan \| (\d+)\/\1 layers on vulkan \(llvmpipe/);
            expect(r.stderr).toMatch(/encoder loaded/);
        }
    }, 1_800_000);
});
