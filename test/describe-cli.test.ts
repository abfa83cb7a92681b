// `autoglm describe` through the real CLI: image encoded by the converted vision mmproj in the
// native engine, the same greedy answer as llama.cpp's llama-mtmd-cli, and clear errors.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { crc32, deflateSync } from "node:zlib";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { llamaToolsDir } from "./helpers/llama-tools.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("describe");
let files: Record<string, string>;
const image = join(root, "screen.png");

beforeAll(async () => {
    const dir = await synthesize(join(root, "glm4v"), "glm4v");
    files = (await convert(dir, join(root, "out"), ["--outtype", "q8_0"])).files;
    await writeTestPng(image);
});

/** Printable ASCII only: llama-mtmd-cli prints raw bytes, autoglm replaces broken UTF-8 with U+FFFD. */
const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, "");

describe("autoglm describe", () => {
    it("encodes the image with the mmproj and answers; the prompt holds the image's embeddings", async () => {
        const r = await runCli(["describe", image, "-m", files.text, "--mmproj", files.vision, "-n", "12", "--json"]);
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(j.image).toMatchObject({ width: 96, height: 64, format: "png" });
        expect(j.stats.answerTokens).toBe(12);
        // 96x64 -> 112x84 after GLM's 28-px alignment -> 4 x 3 = 12 image embeddings, plus the text.
        const textOnly = await runCli(["chat", "-m", files.text, "--temp", "0", "-n", "1", "--json", "--stats"], {
            input: "Describe this image.\n",
        });
        const textTokens = Number(/\[prompt: (\d+) new tokens/.exec(textOnly.stderr)![1]);
        expect(j.stats.promptTokens).toBeGreaterThanOrEqual(textTokens + 12);
    });

    it("gives the same greedy answer as llama-mtmd-cli on the same GGUF, mmproj, image and prompt", async () => {
        const ours = await runCli(["describe", image, "-m", files.text, "--mmproj", files.vision, "-n", "16", "--temp", "0", "--json"]);
        expect(ours.code, ours.stderr).toBe(0);
        const expected = ascii(JSON.parse(ours.stdout).content);
        expect(expected.length).toBeGreaterThan(5);
        const bin = join(llamaToolsDir(), "llama-mtmd-cli");
        // llama-mtmd-cli prints through llama.cpp's asynchronous logger, which can drop its last lines
        // at exit (llama.cpp issue 22142): a truncated print is run again, up to 3 times.
        let printed = "";
        for (let i = 0; i < 3 && !ascii(printed).includes(expected); i++) {
            const r = spawnSync(
                bin,
                ["-m", files.text, "--mmproj", files.vision, "--image", image, "-p", "Describe this image.", "-n", "16", "--temp", "0"],
                { encoding: "utf8", timeout: 120_000 },
            );
            expect(r.status).toBe(0);
            printed = r.stdout;
        }
        expect(ascii(printed).trim()).toBe(expected.trim());
    });

    it("bad input: a text file named .jpg, a truncated PNG, an empty file, an image beyond the pixel limit, no --mmproj, a missing mmproj, a text model as --mmproj", async () => {
        const txt = join(root, "photo.jpg");
        writeFileSync(txt, "not really a photo");
        const cut = join(root, "cut.png");
        writeFileSync(cut, readFileSync(image).subarray(0, 60));
        const empty = join(root, "empty.png");
        writeFileSync(empty, "");
        const huge = join(root, "huge.png");
        writeFileSync(huge, pngHeaderOnly(50_000, 50_000));
        const cases: [string[], RegExp][] = [
            [[txt], /not an image autoglm can read/],
            [[cut], /could not be decoded|not an image/],
            [[empty], /is empty/],
            [[huge, "-m", files.text, "--mmproj", files.vision], /50000x50000 pixels; at most 50000000 pixels are accepted/],
            [[image, "-m", files.text], /--mmproj is required with --model/],
            [[image, "-m", files.text, "--mmproj", files.text], /is a language model, not an mmproj/],
            [[image, "-m", files.text, "--mmproj", join(root, "missing-mmproj.gguf")], /mmproj file not found/],
            [[join(root, "nope.png"), "-m", files.text, "--mmproj", files.vision], /image not found/],
        ];
        for (const [args, pattern] of cases) {
            const r = await runCli(["describe", ...args]);
            expect(r.code, args.join(" ")).toBe(1);
            expect(r.stderr, args.join(" ")).toMatch(pattern);
            expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
        }
    });
});

/** A PNG that declares width x height but holds no pixels: the size check must refuse it before decoding. */
function pngHeaderOnly(width: number, height: number): Buffer {
    const chunk = (type: string, data: Buffer) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(data.length);
        const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(body));
        return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr[8] = 8;
    ihdr[9] = 2; // 8-bit RGB
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk("IHDR", ihdr),
        chunk("IDAT", deflateSync(Buffer.alloc(0))),
        chunk("IEND", Buffer.alloc(0)),
    ]);
}
