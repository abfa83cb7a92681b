// Images and audio inside a conversation: `/image` and `/audio` in the real CLI, the encoder loaded
// only when first needed and released after --encoder-idle-unload, and an image already in the KV
// cache reused by a later turn with the same answer as evaluating everything again.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MEDIA_MARKER } from "../src/engine/media-prompt.js";
import { readMmproj } from "../src/engine/encoders.js";
import { Runtime } from "../src/engine/runtime.js";
import { promptItems } from "../src/engine/sequence.js";
import { BIN, ROOT, runCli } from "./helpers/cli.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";
import { encodeWav, tone } from "./helpers/wav.js";

const root = tempDir("chat-media");
let files: Record<string, string>;
let asr: Record<string, string>;
const png = join(root, "screen.png");
const png2 = join(root, "other.png");
const wav = join(root, "ask.wav");

beforeAll(async () => {
    files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    asr = (await convert(await synthesize(join(root, "asr"), "glmasr"), join(root, "asr-out"), ["--outtype", "q8_0"])).files;
    await writeTestPng(png);
    await writeTestPng(png2, 64, 96);
    writeFileSync(wav, encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 1, 440)]));
});

const jsonLines = (s: string) =>
    s
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));

describe("chat with images and audio", () => {
    it("/image answers about the image; the next turn reuses it from the KV cache; the encoder loads only at the first image", async () => {
        const input = ["hello", `/image ${png} What is on the screen?`, "and the colours?", `/image "${png2}"`, ""].join("\n");
        const r = await runCli(["chat", "-m", files.text, "--mmproj", files.vision, "--temp", "0", "-n", "6", "--ignore-eos", "--json"], {
            input,
        });
        expect(r.code, r.stderr).toBe(0);
        const [hello, image, follow, second] = jsonLines(r.stdout);
        // The text turn ran before any encoder existed; it loaded once, at the first image.
        expect(r.stderr.match(/\[encoder loaded/g)?.length).toBe(1);
        expect(r.stderr.indexOf("[encoder loaded")).toBeGreaterThan(-1);
        // 96x64 -> 4 x 3 = 12 image embeddings evaluated in the image turn, on top of the cached first turn.
        expect(image.stats.promptTokens).toBeGreaterThanOrEqual(12);
        expect(image.stats.reusedTokens).toBeGreaterThan(hello.stats.reusedTokens);
        // The follow-up evaluates only its own text; the image and everything before it is reused.
        expect(follow.stats.promptTokens).toBeLessThan(20);
        expect(follow.stats.reusedTokens).toBeGreaterThanOrEqual(image.stats.reusedTokens + image.stats.promptTokens);
        // A second, different image is encoded and evaluated (64x96 -> 3 x 4 = 12 embeddings).
        expect(second.stats.promptTokens).toBeGreaterThanOrEqual(12);
        for (const t of [hello, image, follow, second]) expect(t.stats.answerTokens).toBe(6);
    });

    it("an image reused from the KV cache gives the same greedy tokens as evaluating the whole prompt again", async () => {
        // Two slots of one runtime: slot 0 keeps the conversation in its cache, slot 1 starts empty.
        const rt = await Runtime.open({
            model: files.text,
            load: { gpu: "cpu" },
            context: { contextSize: 2048 },
            slots: 2,
            mmproj: files.vision,
            encoderCaps: await readMmproj(files.vision),
        });
        try {
            const item = (await rt.media.image(png)).part.item;
            await rt.encoder!.use(async (enc: any) => {
                const greedy = { maxTokens: 8, ignoreEog: true };
                const turn1 = promptItems(enc.tokenize(`[gMASK]<sop><|user|>\n${MEDIA_MARKER}What is this?<|assistant|>\n`, [item]));
                const cached = rt.pool.slots[0].sequence;
                const a1 = await cached.generate(turn1, greedy);
                const turn2 = [...turn1, ...a1.tokens, ...rt.tokenize("<|user|>\nSay more.<|assistant|>\n")];
                const a2 = await cached.generate(turn2, greedy);
                // Turn 2 evaluated only its new text: the image and turn 1 came from the cache.
                expect(a2.reusedTokens).toBe(a1.promptTokens + a1.decodedTokens);
                expect(a2.promptTokens).toBeLessThan(20);
                const b2 = await rt.pool.slots[1].sequence.generate(turn2, greedy);
                expect(b2.reusedTokens).toBe(0);
                expect(b2.nextPos).toBe(a2.nextPos); // M-RoPE positions agree
                expect(Array.from(a2.tokens)).toEqual(Array.from(b2.tokens));
            });
        } finally {
            await rt.dispose();
        }
    });

    it("--encoder-idle-unload releases the encoder when unused and the next /image loads it again", async () => {
        const child = spawn(
            process.execPath,
            [BIN, "chat", "-m", files.text, "--mmproj", files.vision, "--temp", "0", "-n", "3", "--json", "--encoder-idle-unload", "0.3"],
            { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
        );
        let stdout = "",
            stderr = "";
        child.stdout.on("data", (d) => {
            stdout += d;
        });
        child.stderr.on("data", (d) => {
            stderr += d;
        });
        const until = async (cond: () => boolean) => {
            while (!cond()) await new Promise((r) => setTimeout(r, 50));
        };
        child.stdin.write(`/image ${png}\n`);
        await until(() => stdout.split("\n").length > 1);
        await until(() => /encoder released after idle/.test(stderr));
        child.stdin.write("text only\n");
        await until(() => stdout.split("\n").length > 2);
        expect(stderr.match(/\[encoder loaded/g)?.length).toBe(1); // a text turn does not bring it back
        child.stdin.end(`/image ${png} again\n`);
        const code = await new Promise((r) => child.on("close", r));
        expect(code, stderr).toBe(0);
        expect(stderr.match(/\[encoder loaded/g)?.length).toBe(2);
        expect(jsonLines(stdout)).toHaveLength(3);
    });

    it("/audio: the speech model transcribes, the chat model answers the transcript; bad /image and /audio are one-line errors", async () => {
        const notPng = join(root, "notes.png");
        writeFileSync(notPng, "plain text");
        const input = [`/audio ${wav} what was asked?`, `/image ${notPng}`, `/audio ${notPng}`, "/image", "still here?", ""].join("\n");
        const r = await runCli(
            [
                "chat",
                "-m",
                files.text,
                "--mmproj",
                files.vision,
                "--asr-model",
                asr.text,
                "--asr-mmproj",
                asr.audio,
                "--temp",
                "0",
                "-n",
                "4",
                "--json",
            ],
            { input },
        );
        expect(r.code).toBe(1); // line mode: a failed line makes the exit status 1, the chat goes on
        expect(r.stderr).toMatch(/transcript: /);
        expect(r.stderr).toMatch(/notes\.png.*(not an image|unsupported image)/i);
        expect(r.stderr).toMatch(/not a WAV file/);
        expect(r.stderr).toMatch(/usage: \/image FILE/);
        expect(jsonLines(r.stdout)).toHaveLength(2);
        expect(r.stderr).not.toMatch(/internal error|Segmentation/);
    });

    it("a chat without --mmproj says how to get one when given an image", async () => {
        const r = await runCli(["chat", "-m", files.text, "-n", "2", "--json"], { input: `/image ${png}\nhi\n` });
        expect(r.stderr).toMatch(/no vision encoder: start it with --mmproj/);
        expect(jsonLines(r.stdout)).toHaveLength(1);
    });
});
