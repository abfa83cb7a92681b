// The model's own sampling defaults (generation_config.json -> general.sampling.* by the converter)
// reach llama.cpp's llama-completion and autoglm's chat alike: with no sampling flags both sample
// the same tokens from the same converted model. The checkpoint's config is top_k 1 (deterministic
// at temperature 0.8, whatever the seed) with a repeat penalty of 1.5, which changes the text: the
// same run with --repeat-penalty 1 gives another answer, in both tools.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ChatTemplate } from "../src/engine/chat-template.js";
import { readGguf } from "../src/core/gguf/reader.js";
import { runCli } from "./helpers/cli.js";
import { llamaToolsDir } from "./helpers/llama-tools.js";
import { convert, info, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("sampling");
const QUESTION = "Say something about phones.";
const N = "16";
let model: string;
let template: ChatTemplate;

/** Printable ASCII only: llama-completion prints raw bytes, autoglm replaces broken UTF-8 with U+FFFD. */
const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, "");

beforeAll(async () => {
    const dir = await synthesize(join(root, "hf"), "glm4");
    const gen = JSON.parse(readFileSync(join(dir, "generation_config.json"), "utf8"));
    writeFileSync(
        join(dir, "generation_config.json"),
        JSON.stringify({ ...gen, do_sample: true, temperature: 0.8, top_k: 1, repetition_penalty: 1.5 }),
    );
    model = (await convert(dir, join(root, "out"), ["--outtype", "f16"])).files.text;
    template = new ChatTemplate(String((await readGguf(model)).metadata.value("tokenizer.chat_template")));
});

async function autoglmChat(flags: string[], question = QUESTION): Promise<{ text: string; stderr: string }> {
    const r = await runCli(["chat", "-m", model, "--gpu", "cpu", "-n", N, "--json", "-t", "2", ...flags], { input: `${question}\n` });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split("\n")[0]);
    return { text: ascii(j.reasoning + j.content), stderr: r.stderr };
}

/** llama-completion's printed prompt and answer, run again (up to 3 times) if its logger dropped the tail. */
function llamaCompletion(flags: string[], expected: string, question = QUESTION): string {
    const prompt = template.render([{ role: "user", content: question }], { addGenerationPrompt: true });
    let printed = "";
    for (let attempt = 0; attempt < 3 && !ascii(printed).includes(expected); attempt++) {
        const r = spawnSync(
            join(llamaToolsDir(), "llama-completion"),
            ["-m", model, "-p", prompt, "-n", N, "-no-cnv", "-t", "2", ...flags],
            { encoding: "utf8", timeout: 120_000 },
        );
        expect(r.status, r.stderr).toBe(0);
        printed = r.stdout;
    }
    return ascii(printed);
}

describe("sampling defaults from the model", () => {
    it("the converter wrote them and autoglm info shows them with their source", async () => {
        const j = await info(model);
        expect(j.metadata["general.sampling.top_k"]).toBe(1);
        expect(j.metadata["general.sampling.penalty_repeat"]).toBeCloseTo(1.5, 6);
        const r = await runCli(["info", model]);
        expect(r.stdout).toContain(
            "sampling defaults: temp 0.8 (model), top_k 1 (model), top_p 0.95 (llama.cpp), min_p 0.05 (llama.cpp), repeat_penalty 1.5 (model), penalty_last_n 64 (llama.cpp)",
        );
    });

    it("with no sampling flags, autoglm chat and llama-completion give the same answer", async () => {
        const ours = await autoglmChat([]);
        expect(ours.stderr).toContain(
            "sampling: temp 0.8 (model), top_k 1 (model), top_p 0.95 (llama.cpp), min_p 0.05 (llama.cpp), repeat_penalty 1.5 (model)",
        );
        expect(ours.text.length).toBeGreaterThan(5);
        const theirs = llamaCompletion([], ours.text);
        expect(
            theirs.endsWith(ours.text),
            `llama-completion printed ${JSON.stringify(theirs)}, autoglm answered ${JSON.stringify(ours.text)}`,
        ).toBe(true);

        // The penalty is what makes this answer: without it both tools answer something else.
        const plain = await autoglmChat(["--repeat-penalty", "1"]);
        expect(plain.stderr).toContain("repeat_penalty 1 (--repeat-penalty)");
        expect(plain.text).not.toBe(ours.text);
        const plainTheirs = llamaCompletion(["--repeat-penalty", "1"], plain.text);
        expect(
            plainTheirs.endsWith(plain.text),
            `llama-completion printed ${JSON.stringify(plainTheirs)}, autoglm answered ${JSON.stringify(plain.text)}`,
        ).toBe(true);
    });

    it("the penalty covers the prompt's tokens, as llama.cpp's sampler does", async () => {
        // Asking with the unpenalised answer puts the tokens the model likes into the prompt: the
        // penalty must steer away from them from the first token on, in both tools.
        const liked = (await autoglmChat(["--repeat-penalty", "1"])).text;
        const ours = await autoglmChat([], liked);
        const theirs = llamaCompletion([], ours.text, liked);
        expect(
            theirs.endsWith(ours.text),
            `llama-completion printed ${JSON.stringify(theirs)}, autoglm answered ${JSON.stringify(ours.text)}`,
        ).toBe(true);
    });

    it("a flag wins over the model's value, and the start-up line says so", async () => {
        const r = await autoglmChat(["--top-k", "3", "--temp", "0"]);
        expect(r.stderr).toContain("sampling: temp 0 (--temp), top_k 3 (--top-k), top_p 0.95 (llama.cpp)");
    });
});
