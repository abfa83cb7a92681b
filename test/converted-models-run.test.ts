// Converted files run in the real runtimes: the text GGUF in node-llama-cpp, the mmproj files in
// llama.cpp's multimodal library (llama-mtmd-cli built from the bundled source), which encodes an
// image with the vision mmproj and an audio clip with the audio mmproj.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { getLlama, LlamaCompletion } from "node-llama-cpp";
import { beforeAll, describe, expect, it } from "vitest";
import { llamaToolsDir } from "./helpers/llama-tools.js";
import { writeTestPng, writeToneWav } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("run");
const files: Record<string, Record<string, string>> = {};

beforeAll(async () => {
    llamaToolsDir();
    for (const arch of ["glm4v", "glm4", "glmasr"]) {
        const dir = await synthesize(join(root, arch), arch);
        files[arch] = (await convert(dir, join(root, `${arch}-out`), ["--outtype", "q4_0"])).files;
    }
    await writeTestPng(join(root, "image.png"));
    writeToneWav(join(root, "tone.wav"));
});

describe("text GGUFs load in node-llama-cpp and generate", () => {
    for (const arch of ["glm4v", "glm4", "glmasr"]) {
        it(arch, async () => {
            const llama = await getLlama({ gpu: false });
            const model = await llama.loadModel({ modelPath: files[arch].text });
            const context = await model.createContext({ contextSize: 256 });
            try {
                const run = async () => {
                    const sequence = context.getSequence();
                    const text = await new LlamaCompletion({ contextSequence: sequence }).generateCompletion("Open the settings and", {
                        maxTokens: 12,
                        temperature: 0,
                    });
                    sequence.dispose();
                    return text;
                };
                const first = await run();
                expect(first.length).toBeGreaterThan(0);
                expect(await run()).toBe(first); // greedy: deterministic
            } finally {
                await context.dispose();
                await model.dispose();
            }
        });
    }
});

function mtmd(args: string[]) {
    const bin = join(llamaToolsDir(), "llama-mtmd-cli");
    const r = spawnSync(bin, [...args, "-n", "4", "--temp", "0", "-v"], { encoding: "utf8", timeout: 300_000, maxBuffer: 256 << 20 });
    return { status: r.status, log: `${r.stdout}\n${r.stderr}` };
}

/**
 * llama-mtmd-cli exits 0 only if the media loaded, encoded and decoded and generation ran (it returns 1
 * otherwise). Its log comes from an asynchronous logger that can drop the last lines at exit
 * (llama.cpp issue 22142), so the embedding shape is checked whenever the line made it out.
 */
function expectEncoded(r: { status: number | null; log: string }, shape: RegExp) {
    expect(r.status, r.log.slice(-2000)).toBe(0);
    const line = /clip_encode: output embedding shape \[.*\]/.exec(r.log)?.[0];
    if (line) expect(line).toMatch(shape);
}

describe("mmproj files load in llama.cpp's mtmd and encode media", () => {
    it("vision mmproj (glm4v) encodes a PNG into text-width embeddings placed with M-RoPE", () => {
        const r = mtmd([
            "-m",
            files.glm4v.text,
            "--mmproj",
            files.glm4v.vision,
            "--image",
            join(root, "image.png"),
            "-p",
            "Describe this image.",
        ]);
        expectEncoded(r, /\[128, \d+, 1\]/);
    });

    it("audio mmproj (glma) encodes a WAV clip into 377 tokens per 30 s window", () => {
        const r = mtmd(["-m", files.glmasr.text, "--mmproj", files.glmasr.audio, "--audio", join(root, "tone.wav"), "-p", "Transcribe."]);
        expectEncoded(r, /\[128, 377, 1\]/);
    });

    it("a file that is not an mmproj makes the same run fail (the check above can fail)", () => {
        const r = mtmd([
            "-m",
            files.glm4v.text,
            "--mmproj",
            files.glm4v.text,
            "--image",
            join(root, "image.png"),
            "-p",
            "Describe this image.",
        ]);
        expect(r.status).not.toBe(0);
    });
});
