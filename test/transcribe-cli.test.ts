// `autoglm transcribe-and-answer` through the real CLI on tiny converted GLM-ASR and GLM-4.1V models.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { llamaToolsDir } from "./helpers/llama-tools.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";
import { encodeWav, tone } from "./helpers/wav.js";

const root = tempDir("transcribe");
let asr: Record<string, string>;
let chat: Record<string, string>;

beforeAll(async () => {
    asr = (await convert(await synthesize(join(root, "asr"), "glmasr"), join(root, "asr-out"), ["--outtype", "q8_0"])).files;
    chat = (await convert(await synthesize(join(root, "chat"), "glm4v"), join(root, "chat-out"), ["--outtype", "q8_0"])).files;
});

describe("autoglm transcribe-and-answer", () => {
    it("transcribes with the speech model's audio encoder, then answers with the chat model", async () => {
        const wav = join(root, "stereo.wav");
        writeFileSync(wav, encodeWav({ rate: 44100, channels: 2, bits: 24 }, [tone(44100, 1.5, 300), tone(44100, 1.5, 500)]));
        const r = await runCli([
            "transcribe-and-answer",
            wav,
            "--asr-model",
            asr.text,
            "--asr-mmproj",
            asr.audio,
            "-m",
            chat.text,
            "-n",
            "8",
            "--json",
        ]);
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(typeof j.transcript).toBe("string");
        expect(typeof j.answer).toBe("string");
        expect(j.seconds).toBeCloseTo(1.5, 3);
        // One 30 s window of GLM-ASR audio is 377 embeddings, plus the instruction's text tokens.
        expect(j.stats.transcript.promptTokens).toBeGreaterThan(377);
        expect(j.stats.answer.answerTokens).toBeGreaterThan(0);
    });

    it("one model that hears: the same greedy tokens as llama-mtmd-cli on the same GGUF, mmproj, WAV and prompt", async () => {
        // Seed 3: the tiny random GLM-ASR models degenerate into repeating one token after the audio;
        // this one repeats a printable token, so the two outputs can be compared as text. (With other
        // seeds the pick between near-tied tokens flips with the flash-attention setting in both tools.)
        const hears = (
            await convert(await synthesize(join(root, "asr3"), "glmasr", ["--seed", "3"]), join(root, "asr3-out"), ["--outtype", "q8_0"])
        ).files;
        const wav = join(root, "tone.wav");
        writeFileSync(wav, encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 2, 440, 0.25)]));
        const prompt = "Please transcribe this audio into text";
        const ours = await runCli([
            "transcribe-and-answer",
            wav,
            "-m",
            hears.text,
            "--mmproj",
            hears.audio,
            "-q",
            prompt,
            "-n",
            "16",
            "--json",
        ]);
        expect(ours.code, ours.stderr).toBe(0);
        const answer = JSON.parse(ours.stdout).answer as string;
        expect(answer.length).toBeGreaterThan(8);
        // --jinja: llama-mtmd-cli renders the GGUF's own chat template, as autoglm does (without it, it
        // falls back to its built-in GLM-Edge format, which drops the newline after <|assistant|>).
        let printed = "";
        for (let i = 0; i < 3 && !printed.includes(answer); i++) {
            const r = spawnSync(
                join(llamaToolsDir(), "llama-mtmd-cli"),
                ["-m", hears.text, "--mmproj", hears.audio, "--audio", wav, "-p", prompt, "-n", "16", "--temp", "0", "--jinja"],
                { encoding: "utf8", timeout: 120_000 },
            );
            expect(r.status).toBe(0);
            printed = r.stdout; // the async logger can drop the last line at exit (llama.cpp issue 22142): retried
        }
        expect(printed.trim()).toBe(answer);
    });

    it("bad input: not a WAV, an unsupported encoding, a missing file, half the ASR pair, a language model as the encoder", async () => {
        const mp3 = join(root, "voice.wav");
        writeFileSync(mp3, Buffer.concat([Buffer.from("ID3"), Buffer.alloc(200)]));
        const mulaw = join(root, "mulaw.wav");
        writeFileSync(mulaw, encodeWav({ rate: 8000, channels: 1, bits: 8, formatTag: 7 }, [tone(8000, 0.2, 440)]));
        const good = join(root, "good.wav");
        writeFileSync(good, encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 0.5, 440)]));
        const cases: [string[], RegExp][] = [
            [[mp3], /not a WAV file/],
            [[mulaw], /unsupported WAV encoding mu-law/],
            [[join(root, "none.wav")], /audio not found/],
            [[good, "--asr-model", asr.text], /give both --asr-model and --asr-mmproj/],
            [[good, "--asr-model", asr.text, "--asr-mmproj", asr.text], /is a language model, not an mmproj/],
        ];
        for (const [args, pattern] of cases) {
            const r = await runCli(["transcribe-and-answer", ...args, "-m", chat.text]);
            expect(r.code, args.join(" ")).toBe(1);
            expect(r.stderr, args.join(" ")).toMatch(pattern);
            expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
        }
    });
});
