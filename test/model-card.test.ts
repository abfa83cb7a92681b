// convert/model-card.ts and convert/front-matter.ts against gguf-py itself: the name heuristics
// (Metadata.get_model_id_components, id_to_title), the size label (utility.size_label) and the model
// card's front matter (Metadata.load_model_card, PyYAML) for a set of real-world names and cards.
// Runs with Debian's python3 and python3-yaml/-numpy (scripts/system-packages.txt), the bundled gguf-py.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { frontMatterText, parseFrontMatter, Unreadable } from "../convert/front-matter.js";
import { idToTitle, modelIdComponents, sizeLabel } from "../convert/model-card.js";
import { llamaSourceDir } from "./helpers/llama-tools.js";
import { tempDir } from "./helpers/tmp.js";

const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const root = tempDir("model-card");

function gguPy(script: string, input: unknown): any {
    const r = spawnSync(
        PYTHON,
        [
            "-c",
            `import sys, json\nsys.path.insert(0, sys.argv[1])\nfrom gguf.metadata import Metadata\nfrom gguf.utility import size_label\ndata = json.load(sys.stdin)\n${script}`,
            join(llamaSourceDir(), "gguf-py"),
        ],
        { input: JSON.stringify(input), encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`gguf-py failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
}

const IDS: [string, number][] = [
    ["zai-org/AutoGLM-Phone-9B", 9_400_000_000],
    ["THUDM/GLM-4.1V-9B-Thinking", 460_000],
    ["GLM-4.1V-9B-Thinking", 9_000_000_000],
    ["zai-org/GLM-ASR-Nano-2512", 1_500_000_000],
    ["GLM-4-9B-0414", 9_000_000_000],
    ["meta-llama/Llama-2-7b-hf", 6_740_000_000],
    ["bigscience/bloom-7b1", 7_070_000_000],
    ["mistralai/Mixtral-8x7B-Instruct-v0.1", 46_700_000_000],
    ["Qwen/Qwen2.5-VL-7B-Instruct", 8_300_000_000],
    ["autoglm-demo-random", 460_000],
    ["./local-model", 100],
    ["some model with spaces", 0],
    ["TheBloke/Mistral-7B-Instruct-v0.2-GGUF", 0],
    ["org/Model-128k-Instruct-Q4_K_M", 7_000_000_000],
    ["x/small-model-v2.1-lora", -1000],
    ["Phi-3-mini-4k-instruct", 3_800_000_000],
];

describe("model card heuristics equal gguf-py's", () => {
    it("get_model_id_components and id_to_title", () => {
        const ref = gguPy(
            "print(json.dumps([[*Metadata.get_model_id_components(i, n), Metadata.id_to_title(i)] for i, n in data]))",
            IDS,
        ) as (string | null)[][];
        IDS.forEach(([id, n], k) => {
            const c = modelIdComponents(id, n);
            const ours = [c.full, c.org, c.basename, c.finetune, c.version, c.sizeLabel, idToTitle(id)].map((v) => v ?? null);
            expect(ours, id).toEqual(ref[k]);
        });
    });

    it("size_label", () => {
        // 24.5M, 1.25M, 12.5M: exact ties, which Python rounds to even.
        const counts = [
            500, 999, 1000, 1500, 125_000, 460_123, 999_999, 1_000_001, 1_250_000, 12_500_000, 24_500_000, 999_999_999, 1_500_000_000,
            9_400_000_000, 2_000_000_000_000,
        ];
        const ref = gguPy("print(json.dumps([size_label(n, n, 0, 0) for n in data]))", counts);
        expect(counts.map(sizeLabel)).toEqual(ref);
    });

    it("front matter as load_model_card reads it", () => {
        const cards = [
            "---\nlicense: mit\nlanguage:\n- zh\n- en\n- no\nbase_model:\n- zai-org/GLM-4.1V-9B-Base\npipeline_tag: image-text-to-text\nlibrary_name: transformers\n---\n# Card\n",
            "---\nlicense: apache-2.0 # a comment\ntags: [asr, \"a, b\", 'it''s']\ndatasets:\n  - org/set-one\n  - org/set-two\nversion: '1.0'\nwidget:\n  - text: \"hello: world\"\ndescription: |\n  line one\n  line two\n---\n",
            "---\r\nlicense: other\r\nlicense_name: glm-4\r\nlicense_link: https://example.com/LICENSE\r\nmodel_name: My Model\r\n---\r\n",
            "no front matter\n---\nlicense: mit\n---\n",
            "---\nlanguage:\n\t- en\nbase_model: https://huggingface.co/THUDM/GLM-4.1V-9B-Base\n---\n",
        ];
        const ref = cards.map((card, i) => {
            const dir = join(root, `card${i}`);
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, "README.md"), card);
            return gguPy("from pathlib import Path\nprint(json.dumps(Metadata.load_model_card(Path(data))))", dir);
        });
        cards.forEach((card, i) => {
            const text = frontMatterText(card);
            const ours = text === undefined ? {} : parseFrontMatter(text);
            expect(
                Object.values(ours).some((v) => v instanceof Unreadable),
                card,
            ).toBe(false);
            expect(ours, card).toEqual(ref[i]);
        });
    });
});
