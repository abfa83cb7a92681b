// autoglm convert against llama.cpp's own convert_hf_to_gguf.py (the bundled source, with its own
// gguf-py): every metadata key (name, GGUF type, value) and every tensor (type, shape, bytes) of the
// text GGUF and the mmproj, for glm4, glm4v in both config layouts and glmasr, at f16, bf16 and q8_0.
// The checkpoints carry a model card and a generation_config, so general.sampling.*, the name
// heuristics and the model-card keys are compared too.
//
// What runs it: Debian's python3 with python3-torch, -numpy, -yaml, -regex and -tqdm
// (scripts/system-packages.txt; CI installs them with scripts/install-system-deps.sh), through
// test/helpers/llama-convert.py, which stands in for the Python `transformers` package (config
// passthrough, the tokenizer.json vocabulary) and says exactly what it stands in for.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readGguf, type GgufFile } from "../src/core/gguf/reader.js";
import { ROOT } from "./helpers/cli.js";
import { convert, synthesize } from "./helpers/models.js";
import { llamaSourceDir } from "./helpers/llama-tools.js";
import { tempDir } from "./helpers/tmp.js";

const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const RUNNER = join(ROOT, "test", "helpers", "llama-convert.py");
const root = tempDir("convert-ref");

function pythonProblem(): string | undefined {
    const r = spawnSync(PYTHON, ["-c", "import torch, numpy, yaml, regex, tqdm"], { encoding: "utf8" });
    return r.status === 0
        ? undefined
        : `${PYTHON} cannot import torch/numpy/yaml/regex/tqdm (run: bash scripts/install-system-deps.sh): ${r.stderr.trim().split("\n").pop()}`;
}

interface Case {
    label: string;
    arch: string;
    extra: string[];
    folder: string;
    roles: ("text" | "vision" | "audio")[];
    /** README.md front matter and generation_config.json fields this case adds. */
    card: string;
    generation: Record<string, unknown>;
    nameOrPath?: string;
}

const CASES: Case[] = [
    {
        label: "glm4",
        arch: "glm4",
        extra: [],
        folder: "GLM-4-9B-0414",
        roles: ["text"],
        card: "license: mit\nlanguage:\n  - zh\n  - en\npipeline_tag: text-generation\nlibrary_name: transformers\n",
        generation: { temperature: 0.6, top_p: 0.95, top_k: 40, repetition_penalty: 1.05, min_p: 0.01 },
    },
    {
        label: "glm4v (transformers 5.x layout)",
        arch: "glm4v",
        extra: ["--layout", "5.x"],
        folder: "AutoGLM-Phone-9B",
        roles: ["text", "vision"],
        card: "license: mit\nlanguage: [zh, en]\nbase_model:\n- zai-org/GLM-4.1V-9B-Base\npipeline_tag: image-text-to-text\ntags:\n  - agent\n  - 'phone use'\n",
        generation: { temperature: 0.8, top_p: 0.6, top_k: 2, repetition_penalty: 1.1, penalty_last_n: 128 },
    },
    {
        label: "glm4v (transformers 4.5x layout)",
        arch: "glm4v",
        extra: ["--layout", "4.5x"],
        folder: "glm41v-thinking-local",
        roles: ["text", "vision"],
        nameOrPath: "THUDM/GLM-4.1V-9B-Thinking",
        card: "license: mit\nlanguage:\n- en\n- zh\nbase_model: https://huggingface.co/THUDM/GLM-4.1V-9B-Base\ndatasets:\n- some-org/screens-v2\n",
        generation: { temperature: 1.0, top_k: 1, repetition_penalty: null },
    },
    {
        label: "glmasr",
        arch: "glmasr",
        extra: [],
        folder: "GLM-ASR-Nano-2512",
        roles: ["text", "audio"],
        card: "license: mit\nlanguage:\n- zh\n- en\npipeline_tag: automatic-speech-recognition\ntags: [asr, speech]\n",
        generation: { do_sample: false, temperature: 0 },
    },
];

const TYPES = ["f16", "bf16", "q8_0"] as const;

/** Runs convert_hf_to_gguf.py (through the stand-in runner) once per argument list, in one process. */
function llamaConvert(jobs: string[][], jobsFile: string): Promise<void> {
    writeFileSync(jobsFile, JSON.stringify(jobs));
    return new Promise((resolve, reject) => {
        const child = spawn(PYTHON, [RUNNER, llamaSourceDir(), jobsFile], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d) => {
            err += d;
        });
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0 ? resolve() : reject(new Error(`convert_hf_to_gguf.py failed (${code}):\n${err.split("\n").slice(-8).join("\n")}`)),
        );
    });
}

/** Every metadata key as {type, value}; tensors as name -> type, shape and the data's bytes. */
async function contents(g: GgufFile) {
    const meta: Record<string, unknown> = {};
    for (const [k, v] of g.metadata.entries) meta[k] = v;
    const fh = await open(g.path, "r");
    try {
        const tensors: Record<string, { type: number; shape: number[]; data: Buffer }> = {};
        for (const t of g.tensors) {
            const data = Buffer.alloc(t.bytes);
            await fh.read(data, 0, t.bytes, t.offset);
            tensors[t.name] = { type: t.type, shape: t.shape, data };
        }
        return { meta, tensors };
    } finally {
        await fh.close();
    }
}

/** Differences, one line each (empty when the two files hold the same keys and tensors). */
async function differences(ours: string, reference: string): Promise<string[]> {
    const a = await contents(await readGguf(ours)),
        b = await contents(await readGguf(reference));
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a.meta), ...Object.keys(b.meta)])) {
        const x = JSON.stringify(a.meta[k], (_, v) => (typeof v === "bigint" ? String(v) : v));
        const y = JSON.stringify(b.meta[k], (_, v) => (typeof v === "bigint" ? String(v) : v));
        if (x !== y) out.push(`key ${k}: autoglm ${(x ?? "(absent)").slice(0, 200)} vs llama.cpp ${(y ?? "(absent)").slice(0, 200)}`);
    }
    for (const n of new Set([...Object.keys(a.tensors), ...Object.keys(b.tensors)])) {
        const x = a.tensors[n],
            y = b.tensors[n];
        if (!x || !y) out.push(`tensor ${n}: ${x ? "only autoglm" : "only llama.cpp"} has it`);
        else if (x.type !== y.type || x.shape.join() !== y.shape.join())
            out.push(`tensor ${n}: autoglm type ${x.type} [${x.shape}] vs llama.cpp type ${y.type} [${y.shape}]`);
        else if (!x.data.equals(y.data)) out.push(`tensor ${n}: bytes differ`);
    }
    return out;
}

const problem = pythonProblem();

describe("autoglm convert writes what llama.cpp's convert_hf_to_gguf.py writes", () => {
    it("runs where python3 has torch, numpy, yaml, regex and tqdm (scripts/system-packages.txt)", () => {
        expect(problem).toBeUndefined();
    });

    for (const c of CASES) {
        describe.runIf(!problem)(c.label, () => {
            const dir = join(root, c.label.replace(/\W+/g, "-"), c.folder);
            const files: Record<string, { ours: Record<string, string>; ref: Record<string, string> }> = {};
            beforeAll(async () => {
                await synthesize(dir, c.arch, c.extra);
                writeFileSync(join(dir, "README.md"), `---\n${c.card}---\n\n# ${c.folder}\n`);
                const gen = JSON.parse(readFileSync(join(dir, "generation_config.json"), "utf8"));
                writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ ...gen, ...c.generation }, null, 2));
                if (c.nameOrPath) {
                    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
                    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, _name_or_path: c.nameOrPath }, null, 2));
                }
                // One Python process for all of this case's reference files, while autoglm converts.
                const jobs: string[][] = [];
                for (const type of TYPES) {
                    files[type] = { ours: {}, ref: {} };
                    for (const role of c.roles) {
                        const ref = join(dir, "..", `llama-${type}-${role}.gguf`);
                        files[type].ref[role] = ref;
                        jobs.push([dir, "--outtype", type, "--outfile", ref, ...(role === "text" ? [] : ["--mmproj"])]);
                    }
                }
                const reference = llamaConvert(jobs, join(dir, "..", "jobs.json"));
                for (const type of TYPES) {
                    files[type].ours = (
                        await convert(dir, join(dir, "..", `autoglm-${type}`), ["--outtype", type, "--mmproj-outtype", type])
                    ).files;
                }
                await reference;
            }, 600_000);

            for (const type of TYPES) {
                for (const role of c.roles) {
                    it(`${role} at ${type}: the same keys and tensors`, async () => {
                        const f = files[type];
                        expect(f.ours[role], `autoglm wrote no ${role} file`).toBeDefined();
                        expect(await differences(f.ours[role], f.ref[role])).toEqual([]);
                    });
                }
            }
            it("the comparison sees a difference (autoglm's q8_0 against llama.cpp's f16)", async () => {
                const d = await differences(files.q8_0.ours.text, files.f16.ref.text);
                expect(d).toContain('key general.file_type: autoglm {"type":4,"value":7} vs llama.cpp {"type":4,"value":1}');
                expect(d.some((l) => /^tensor blk\.0\..* type 8 .* vs llama\.cpp type 1 /.test(l))).toBe(true);
            });
        });
    }
});
