// Hostile media and requests through the real CLI (describe, transcribe-and-answer) and the real
// server over HTTP: lying WAV headers, decompression bombs, broken images, too many items, a full
// queue, encoders that fail to load, a model that fails after loading, and a seeded fuzz of WAV
// headers and images. Every case is a one-line error and exit 1, or a 4xx (503 where the server is
// at fault), never a signal, a hang or a server that stops answering /health.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { animatedGif, fuzzImages, fuzzWavs, hostileImages, hostileWavs, validWavs } from "./helpers/hostile-media.js";
import { convert, synthesize } from "./helpers/models.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";
import { encodeWav, tone } from "./helpers/wav.js";

const root = tempDir("hostile");
let chat: Record<string, string>;
let asr: Record<string, string>;
let images: { name: string; bytes: Buffer; message: RegExp }[];
const wavs = hostileWavs();
const servers: RunningServer[] = [];

beforeAll(async () => {
    chat = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "chat-out"), ["--outtype", "q8_0"])).files;
    asr = (await convert(await synthesize(join(root, "asr"), "glmasr"), join(root, "asr-out"), ["--outtype", "q8_0"])).files;
    images = await hostileImages();
});

afterAll(async () => {
    for (const s of servers) await s.stop();
});

async function serve(args: string[]): Promise<RunningServer> {
    const s = await startServer(args);
    servers.push(s);
    return s;
}

/** The one `autoglm: ...` line of a failed run, checked for no stack, no internal error, no signal. */
function oneLineError(r: { code: number | null; signal: string | null; stderr: string }): string {
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("autoglm: "));
    expect(lines, r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at |GGML_ASSERT|Segmentation/);
    return lines[0]!;
}

const b64 = (b: Buffer) => b.toString("base64");
const imagePart = (b: Buffer) => ({ type: "image_url", image_url: { url: `data:image/png;base64,${b64(b)}` } });
const audioPart = (b: Buffer) => ({ type: "input_audio", input_audio: { data: b64(b), format: "wav" } });

/** POST /v1/chat/completions with `content` as one user message; a watchdog tells a hang apart. */
async function ask(
    url: string,
    content: unknown[],
    extra: Record<string, unknown> = {},
    watchdogMs = 120_000,
): Promise<{ status: number; body: { error?: { message: string; code: string } } }> {
    const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        signal: AbortSignal.timeout(watchdogMs),
        body: JSON.stringify({
            model: "m",
            max_tokens: 1,
            temperature: 0,
            messages: [{ role: "user", content: [...content, { type: "text", text: "What is it?" }] }],
            ...extra,
        }),
    });
    return { status: res.status, body: await res.json() };
}

const health = async (url: string) => (await fetch(`${url}/health`, { signal: AbortSignal.timeout(60_000) })).status;

describe("hostile media through the CLI", () => {
    it("describe: bombs, huge and zero sizes, truncated PNG/JPEG, SVG and text are one-line errors (exit 1); an animated GIF is described from its first frame", async () => {
        for (const img of images) {
            const file = join(root, `hostile-${images.indexOf(img)}.img`);
            writeFileSync(file, img.bytes);
            const r = await runCli(["describe", file, "-m", chat.text, "--mmproj", chat.vision, "-n", "1"]);
            expect(oneLineError(r), img.name).toMatch(img.message);
        }
        const gif = join(root, "animated.gif");
        writeFileSync(gif, await animatedGif());
        const r = await runCli(["describe", gif, "-m", chat.text, "--mmproj", chat.vision, "-n", "1", "--json"]);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout).image).toMatchObject({ width: 40, height: 24, format: "gif" });
    }, 900_000);

    it("transcribe-and-answer: every lying WAV header is a one-line error (exit 1) on both routes; 24-bit extensible, 8-bit and float clips are heard", async () => {
        for (const w of wavs) {
            const file = join(root, `hostile-${wavs.indexOf(w)}.wav`);
            writeFileSync(file, w.bytes);
            // The model that hears itself (libmtmd's encoder would abort on a 1-sample clip).
            const r = await runCli(["transcribe-and-answer", file, "-m", asr.text, "--mmproj", asr.audio, "-n", "1"]);
            expect(oneLineError(r), w.name).toMatch(w.message);
        }
        // The transcribing route (the speech model) refuses the same clip before it loads.
        const one = join(root, `hostile-${wavs.findIndex((w) => w.name === "1 sample")}.wav`);
        const t = await runCli([
            "transcribe-and-answer",
            one,
            "--asr-model",
            asr.text,
            "--asr-mmproj",
            asr.audio,
            "-m",
            chat.text,
            "-n",
            "1",
        ]);
        expect(oneLineError(t)).toMatch(/too short/);
        for (const w of validWavs()) {
            const file = join(root, `valid-${w.name.replace(/\W+/g, "-")}.wav`);
            writeFileSync(file, w.bytes);
            const r = await runCli(["transcribe-and-answer", file, "-m", asr.text, "--mmproj", asr.audio, "-n", "1", "--json"]);
            expect(r.code, `${w.name}: ${r.stderr}`).toBe(0);
            expect(JSON.parse(r.stdout).seconds).toBeCloseTo(0.5, 3);
        }
    }, 900_000);
});

/** The server that sees and transcribes (the hostile cases, then the image fuzz). */
let sv: RunningServer;

describe("hostile media through the server", () => {
    beforeAll(async () => {
        sv = await serve([
            "-m",
            chat.text,
            "--mmproj",
            chat.vision,
            "--asr-model",
            asr.text,
            "--asr-mmproj",
            asr.audio,
            "--parallel",
            "2",
            "--ctx-size",
            "2048",
        ]);
    });

    it("every hostile image and WAV is a 400 with its message and no server path; /health answers after each; the animated GIF is answered", async () => {
        for (const img of images) {
            const r = await ask(sv.url, [imagePart(img.bytes)]);
            expect(r.status, img.name).toBe(400);
            expect(r.body.error!.message, img.name).toMatch(img.message);
            expect(r.body.error!.message).not.toContain(root);
            expect(await health(sv.url)).toBe(200);
        }
        for (const w of wavs) {
            const r = await ask(sv.url, [audioPart(w.bytes)]);
            expect(r.status, w.name).toBe(400);
            expect(r.body.error!.message, w.name).toMatch(w.message);
            expect(await health(sv.url)).toBe(200);
        }
        expect((await ask(sv.url, [imagePart(await animatedGif())])).status).toBe(200);
    }, 600_000);

    it("too many images in one request is a 400 before any is decoded, naming the limit", async () => {
        const r = await ask(
            sv.url,
            Array.from({ length: 33 }, () => imagePart(images[0]!.bytes)),
        ); // 33 bombs: none is looked at
        expect(r.status).toBe(400);
        expect(r.body.error!.message).toMatch(/33 images in one request; at most 32/);
    });

    it("a 30 MB text is a 400 context_length_exceeded at once (longer than the slot's cells times the vocabulary's longest token), not seconds of tokenizing", async () => {
        const text = "hello world, this is a long text. ".repeat(900_000);
        const r = await ask(sv.url, [{ type: "text", text }]);
        expect(r.status).toBe(400);
        expect(r.body.error).toMatchObject({ code: "context_length_exceeded" });
        expect(r.body.error!.message).toMatch(/needs at least \d+ tokens .* holds 2048 per slot/);
        expect(await health(sv.url)).toBe(200);
    });

    it("a grammar naming a token outside the vocabulary is refused at the start; the next request is answered", async () => {
        const r = await ask(sv.url, [], { grammar: "root ::= <[99999]>" });
        expect(r.status).toBe(400);
        expect(r.body.error).toMatchObject({ code: "invalid_grammar" });
        expect(r.body.error!.message).toMatch(/<\[99999\]>, outside the model's vocabulary/);
        const ok = await ask(sv.url, [], { grammar: 'root ::= "ok"', max_tokens: 4 });
        expect(ok.status).toBe(200);
    });
});

describe("the server's order: refusals before decoding, decoding off the event loop", () => {
    it("a full queue refuses a decompression bomb with 503 (not the 400 its header would get); a kind the server cannot use is a 400 first; SIGTERM still stops it", async () => {
        const sq = await serve(["-m", chat.text, "--mmproj", chat.vision, "--parallel", "1", "--queue", "0", "--ctx-size", "1024"]);
        // Hold the only slot with a stream that does not end by itself.
        const hold = new AbortController();
        const res = await fetch(`${sq.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            signal: hold.signal,
            body: JSON.stringify({
                model: "m",
                stream: true,
                ignore_eos: true,
                max_tokens: 100_000,
                messages: [{ role: "user", content: "count" }],
            }),
        });
        const reader = res.body!.getReader();
        let seen = "";
        while (!/"content":"[^"]+"/.test(seen)) seen += new TextDecoder().decode((await reader.read()).value); // a token came: the slot is busy
        const bomb = await ask(sq.url, [imagePart(images[0]!.bytes)]);
        expect(bomb.status).toBe(503);
        expect(bomb.body.error!.code).toBe("queue_full");
        const wav = await ask(sq.url, [audioPart(wavs[0]!.bytes)]); // 0 channels, to a server that cannot hear
        expect(wav.status).toBe(400);
        expect(wav.body.error!.message).toMatch(/cannot hear audio/);
        hold.abort();
        await reader.cancel().catch(() => {});
        expect(await health(sq.url)).toBe(200);
        servers.splice(servers.indexOf(sq), 1);
        expect(await sq.stop()).toBe(0);
    });

    it("/health and /metrics answer while a 300 s clip is being decoded and resampled (by order: the decode is seen running before and after /health)", async () => {
        const sh = await serve(["-m", asr.text, "--mmproj", asr.audio, "--ctx-size", "2048"]);
        const metric = async () => Number(/^autoglm_media_decoding (\d+)$/m.exec(await (await fetch(`${sh.url}/metrics`)).text())![1]);
        // 300 s of 8-bit 48 kHz: 14 MB to mix down and resample to 16 kHz; an invalid grammar answers right after the decode.
        const clip = encodeWav({ rate: 48000, channels: 1, bits: 8 }, [tone(48000, 300, 440)]);
        let answered = false;
        const big = ask(sh.url, [audioPart(clip)], { grammar: "root ::= (" }).finally(() => {
            answered = true;
        });
        let during = false;
        while (!during && !answered) {
            if ((await metric()) === 1) {
                const h = await health(sh.url);
                during = h === 200 && (await metric()) === 1; // still decoding after /health answered
            }
        }
        expect(during).toBe(true);
        const r = await big;
        expect(r.status).toBe(400);
        expect(r.body.error!.code).toBe("invalid_grammar");
        expect(await metric()).toBe(0);
        for (const w of validWavs()) expect((await ask(sh.url, [audioPart(w.bytes)])).status, w.name).toBe(200);
    }, 600_000);
});

describe("server-side faults are not the client's", () => {
    it("an encoder or speech model that fails to load is a 503 naming only the resource; the server log has the detail", async () => {
        // Good files at start-up (their headers are checked then), spoiled before their first use (both
        // load lazily): the load itself fails, as a file changed under a running server would.
        const copy = (file: string, name: string) => {
            const out = join(root, name);
            writeFileSync(out, readFileSync(file));
            return out;
        };
        const spoil = (file: string, key: string) => {
            const b = Buffer.from(readFileSync(file));
            const at = b.indexOf(key) + key.length + 4; // after the key: the value's type (string), its length, its bytes
            const n = Number(b.readBigUInt64LE(at));
            b.fill("x", at + 8, at + 8 + n);
            writeFileSync(file, b);
        };
        const vision = copy(chat.vision, "bad-projector.gguf"),
            speech = copy(asr.text, "bad-asr.gguf");
        const sf = await serve(["-m", chat.text, "--mmproj", vision, "--asr-model", speech, "--asr-mmproj", asr.audio]);
        spoil(vision, "clip.projector_type");
        spoil(speech, "general.architecture");
        const wav = encodeWav({ rate: 16000, channels: 1, bits: 16 }, [tone(16000, 0.5, 440)]);
        const png = await animatedGif();
        for (const [content, what] of [
            [[imagePart(png)], "encoder"],
            [[audioPart(wav)], "speech model"],
        ] as const) {
            const r = await ask(sf.url, [...content]);
            expect(r.status, JSON.stringify(r.body)).toBe(503);
            expect(r.body.error).toMatchObject({ code: "resource_unavailable" });
            expect(r.body.error!.message).toMatch(new RegExp(`the ${what} of this server failed to load`));
            expect(r.body.error!.message).not.toContain(root);
        }
        expect(sf.stderr()).toContain(vision);
        expect(sf.stderr()).toMatch(/the speech model failed to load: .*bad-asr\.gguf/);
        expect(await health(sf.url)).toBe(200);
    });

    it("serve with a model that fails after loading (no chat template) exits 1 with one line instead of answering 503 forever", async () => {
        const b = Buffer.from(readFileSync(chat.text));
        const at = b.indexOf("tokenizer.chat_template");
        b.write("tokenizer.chat_templatX", at, "latin1"); // same length: the GGUF stays valid, the template is gone
        const model = join(root, "no-template.gguf");
        writeFileSync(model, b);
        const r = await runCli(["serve", "-m", model, "--port", "0"]);
        expect(oneLineError(r)).toMatch(/has no chat template/);
    });
});

describe("a seeded fuzz of WAV headers and images", () => {
    it("60 mutated WAVs and 60 mutated images: every answer a 200 or a 4xx, no 5xx, no hang, /health after each", async () => {
        const counts = { tried: 0, clean: 0, refused: 0, crash: 0, hang: 0 };
        /** Sends each case to a server of its own; one that crashed or hung is killed and started again, so every case is tried. */
        const fuzz = async (args: string[], cases: unknown[]) => {
            let s = await serve(args);
            for (const part of cases) {
                counts.tried++;
                let ok = true;
                try {
                    const r = await ask(s.url, [part], {}, 45_000);
                    if (r.status >= 500) {
                        counts.crash++;
                        ok = false;
                    } else {
                        counts.clean++;
                        if (r.status >= 400) counts.refused++;
                    }
                } catch (e) {
                    if ((e as Error).name === "TimeoutError") counts.hang++;
                    else counts.crash++;
                    ok = false;
                }
                if (ok && (await health(s.url).catch(() => 0)) !== 200) {
                    counts.crash++;
                    ok = false;
                }
                if (!ok) {
                    s.child.kill("SIGKILL");
                    servers.splice(servers.indexOf(s), 1);
                    s = await serve(args);
                }
            }
        };
        await fuzz(["-m", asr.text, "--mmproj", asr.audio, "--ctx-size", "2048"], fuzzWavs(7, 60).map(audioPart));
        await fuzz(["-m", chat.text, "--mmproj", chat.vision, "--ctx-size", "2048"], (await fuzzImages(11, 60)).map(imagePart));
        console.log(`fuzz: ${JSON.stringify(counts)}`);
        expect(counts).toMatchObject({ tried: 120, crash: 0, hang: 0 });
    }, 900_000);
});
