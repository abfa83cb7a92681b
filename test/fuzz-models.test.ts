// Hostile model files through the real CLI: corrupted text GGUFs into `info` and `chat -m`,
// corrupted mmprojs into `describe --mmproj`, hostile checkpoints into `convert`. Every case built
// deterministically (fixed edits, seeded corruptions). Each must end in a one-line error and exit 1:
// no signal, no internal error, no hang. Random byte flips may also run normally (exit 0).
import {
    appendFileSync,
    closeSync,
    cpSync,
    existsSync,
    openSync,
    readdirSync,
    readFileSync,
    rmSync,
    writeFileSync,
    writeSync,
} from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType, ValueType } from "../src/core/gguf/constants.js";
import { runCli, type CliResult } from "./helpers/cli.js";
import {
    arrayCountOffset,
    f32,
    flips,
    keyOffset,
    lieAt,
    loadSource,
    rewrite,
    save,
    seeded,
    str,
    stringValueOffset,
    u32,
    type Edit,
    type Source,
} from "./helpers/fuzz-gguf.js";
import { writeTestPng } from "./helpers/media.js";
import { llamaToolsDir } from "./helpers/llama-tools.js";
import { convert, synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("fuzz");
let files: Record<string, string>;
let checkpoint: string;
const image = join(root, "screen.png");
/** A hung child is killed after this; a clean refusal takes about a second. */
const HANG_MS = 60_000;
/** The CPU backend whatever GPU loader the machine has: the cases are about the files, not the backend. */
const CPU = ["--gpu", "cpu"];
/** Bounds a whole loop of cases (only a failing run gets near it). */
const LOOP = { timeout: 20 * 60_000 };

type Outcome = "refused" | "ran" | "crash" | "internal" | "hang" | "messy";
/** mayRun: a random flip may be harmless; infoMayRun: info shows the file without rendering its template. */
interface Case {
    name: string;
    path: string;
    mayRun?: boolean;
    infoMayRun?: boolean;
    /** What the refusal must say (the cases written for one rule). */
    message?: RegExp;
    /** llama.cpp's own loader or tokenizer dies on this file (GGML_ASSERT/GGML_ABORT): checked against llama-completion. */
    abortsLlama?: boolean;
}
const tally: Record<string, Record<Outcome, number>> = {};

function classify(r: CliResult): Outcome {
    if (r.signal === "SIGKILL") return "hang";
    if (r.signal) return "crash";
    if (r.code === 70) return "internal";
    if (r.code === 0) return "ran";
    // The start-up lines (the model's, the sampling defaults in effect) are not part of the refusal.
    const lines = r.stderr
        .trim()
        .split("\n")
        .filter((l) => !/^model .* \| backend /.test(l) && !/^sampling: /.test(l));
    return r.code === 1 && lines.length === 1 && lines[0]!.startsWith("autoglm: ") ? "refused" : "messy";
}

function count(command: string, o: Outcome, name = "") {
    tally[command] ??= { refused: 0, ran: 0, crash: 0, internal: 0, hang: 0, messy: 0 };
    tally[command]![o]++;
    // FUZZ_RESULTS=FILE keeps one JSON line per case (for comparing builds; the test does not need it).
    if (process.env.FUZZ_RESULTS) appendFileSync(process.env.FUZZ_RESULTS, `${JSON.stringify({ command, name, outcome: o })}\n`);
}

async function expectClean(command: string, c: Case, args: string[]) {
    const r = await runCli(args, { input: "hi\n", timeoutMs: HANG_MS });
    const o = classify(r);
    count(command, o, c.name);
    const allowed: Outcome[] = c.mayRun ? ["refused", "ran"] : ["refused"];
    expect.soft(allowed, `${command} ${c.name}: ${o} (code ${r.code}, signal ${r.signal})\n${r.stderr.slice(-600)}`).toContain(o);
    if (c.message && o === "refused") expect.soft(r.stderr, `${command} ${c.name}`).toMatch(c.message);
}

// ---- text GGUF cases -------------------------------------------------------------------------

const meta = (key: string, value: ReturnType<typeof u32> | undefined): Edit => ({
    metadata: (m) => {
        if (value) m.set(key, value);
        else m.entries.delete(key);
    },
});
const arr = (key: string, itemType: ValueType, values: (number | string)[]): Edit => ({
    metadata: (m) => m.array(key, itemType as never, values),
});

function textCases(src: Source, dir: string): Case[] {
    const b = src.bytes;
    const tokens = src.file.metadata.value("tokenizer.ggml.tokens") as string[];
    const edits: [string, Edit][] = [
        ["block_count 0", meta("glm4.block_count", u32(0))],
        ["block_count 513", meta("glm4.block_count", u32(513))],
        ["block_count 3 (2 layers of tensors)", meta("glm4.block_count", u32(3))],
        ["block_count as a string", meta("glm4.block_count", str("2"))],
        ["embedding_length 0", meta("glm4.embedding_length", u32(0))],
        ["embedding_length 64 (tensors have 128)", meta("glm4.embedding_length", u32(64))],
        ["head_count 0", meta("glm4.attention.head_count", u32(0))],
        ["head_count 3 (does not divide 128)", meta("glm4.attention.head_count", u32(3))],
        ["head_count_kv 0", meta("glm4.attention.head_count_kv", u32(0))],
        ["head_count_kv 3", meta("glm4.attention.head_count_kv", u32(3))],
        ["key_length 0", meta("glm4.attention.key_length", u32(0))],
        ["key_length 4096", meta("glm4.attention.key_length", u32(4096))],
        ["rope dimension 0", meta("glm4.rope.dimension_count", u32(0))],
        ["rope dimension 1", meta("glm4.rope.dimension_count", u32(1))],
        ["rope dimension 1000", meta("glm4.rope.dimension_count", u32(1000))],
        ["rope dimension 15 (odd)", meta("glm4.rope.dimension_count", u32(15))],
        ["rope sections [1000,0,0,0]", arr("glm4.rope.dimension_sections", ValueType.INT32, [1000, 0, 0, 0])],
        ["rope sections all 0", arr("glm4.rope.dimension_sections", ValueType.INT32, [0, 0, 0, 0])],
        ["rope sections negative", arr("glm4.rope.dimension_sections", ValueType.INT32, [-4, 6, 6, 0])],
        ["epsilon NaN", meta("glm4.attention.layer_norm_rms_epsilon", f32(NaN))],
        ["epsilon 0", meta("glm4.attention.layer_norm_rms_epsilon", f32(0))],
        ["epsilon -1", meta("glm4.attention.layer_norm_rms_epsilon", f32(-1))],
        ["epsilon Inf", meta("glm4.attention.layer_norm_rms_epsilon", f32(Infinity))],
        ["epsilon as u32", meta("glm4.attention.layer_norm_rms_epsilon", u32(1))],
        ["context_length 0", meta("glm4.context_length", u32(0))],
        ["feed_forward_length 0", meta("glm4.feed_forward_length", u32(0))],
        ["feed_forward_length 100 (tensors have 256)", meta("glm4.feed_forward_length", u32(100))],
        ["rope freq_base NaN", meta("glm4.rope.freq_base", f32(NaN))],
        ["rope freq_base 0", meta("glm4.rope.freq_base", f32(0))],
        ["rope scaling type bogus", meta("glm4.rope.scaling.type", str("bogus"))],
        ["expert_count 8", meta("glm4.expert_count", u32(8))],
        ["alignment 1", { ...meta("general.alignment", u32(1)), layout: 1 }],
        ["alignment 16", { ...meta("general.alignment", u32(16)), layout: 16 }],
        ["alignment 3", { ...meta("general.alignment", u32(3)), layout: 32 }],
        ["alignment 0", { ...meta("general.alignment", u32(0)), layout: 32 }],
        ["tokenizer model llama", meta("tokenizer.ggml.model", str("llama"))],
        ["tokenizer model bert", meta("tokenizer.ggml.model", str("bert"))],
        ["tokenizer model nonsense", meta("tokenizer.ggml.model", str("nonsense"))],
        ["tokenizer model missing", meta("tokenizer.ggml.model", undefined)],
        ["tokens one short", arr("tokenizer.ggml.tokens", ValueType.STRING, tokens.slice(0, -1))],
        [
            "tokens as numbers",
            arr(
                "tokenizer.ggml.tokens",
                ValueType.INT32,
                tokens.map((_, i) => i),
            ),
        ],
        [
            "token types out of range",
            arr(
                "tokenizer.ggml.token_type",
                ValueType.INT32,
                tokens.map(() => 99),
            ),
        ],
        [
            "token types one short",
            arr(
                "tokenizer.ggml.token_type",
                ValueType.INT32,
                tokens.slice(1).map(() => 1),
            ),
        ],
        ["bos id 100000", meta("tokenizer.ggml.bos_token_id", u32(100000))],
        ["eos id = vocabulary size", meta("tokenizer.ggml.eos_token_id", u32(tokens.length))],
        ["merges without a space", arr("tokenizer.ggml.merges", ValueType.STRING, ["abc", "def"])],
        ["merges missing", meta("tokenizer.ggml.merges", undefined)],
        ["template: a 10^8 loop", meta("tokenizer.chat_template", str("{% for i in range(100000000) %}{% endfor %}x"))],
        [
            "template: a 50 MB render",
            meta(
                "tokenizer.chat_template",
                str(`{% for i in range(1000) %}{% for j in range(1000) %}${"x".repeat(50)}{% endfor %}{% endfor %}`),
            ),
        ],
        ["template: deep recursion", meta("tokenizer.chat_template", str("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"))],
        ["template: syntax error", meta("tokenizer.chat_template", str("{% for %}"))],
        ["template: raises", meta("tokenizer.chat_template", str("{{ raise_exception('hostile') }}"))],
        ["template as a number", meta("tokenizer.chat_template", u32(7))],
        [
            "token_embd shape [128, 320]",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "token_embd.weight")!.shape = [128, 320];
                },
            },
        ],
        [
            "attn_q shape [128, 96]",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "blk.0.attn_q.weight")!.shape = [128, 96];
                },
            },
        ],
        [
            "ffn_up shape [128, 0]",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "blk.1.ffn_up.weight")!.shape = [128, 0];
                },
            },
        ],
        [
            "output_norm as q8_0",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "output_norm.weight")!.type = GgmlType.Q8_0;
                },
            },
        ],
        [
            "output_norm 2-D",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "output_norm.weight")!.shape = [64, 2];
                },
            },
        ],
        [
            "a tensor for layer 2 of 2",
            {
                tensors: (t) => {
                    t.push({ name: "blk.2.attn_norm.weight", shape: [128], type: GgmlType.F32, from: "blk.1.attn_norm.weight" });
                },
            },
        ],
        [
            "a duplicated tensor",
            {
                tensors: (t) => {
                    t.push({ ...t[3]! });
                },
            },
        ],
        [
            "token_embd missing",
            {
                tensors: (t) => {
                    t.splice(
                        t.findIndex((x) => x.name === "token_embd.weight"),
                        1,
                    );
                },
            },
        ],
    ];
    const cases: Case[] = edits.map(([name, e], i) => ({
        name,
        path: save(join(dir, `t${i}.gguf`), rewrite(src, e)),
        infoMayRun: name.startsWith("template:"),
    }));
    const raw: [string, Buffer][] = [
        ["first key's length 2^40", lieAt(b, keyOffset(b, "general.architecture"), 2n ** 40n)],
        ["tokens count 2^40", lieAt(b, arrayCountOffset(b, "tokenizer.ggml.tokens"), 2n ** 40n)],
        ["merges count 2^31", lieAt(b, arrayCountOffset(b, "tokenizer.ggml.merges"), 2n ** 31n)],
        ["template length 2^33", lieAt(b, stringValueOffset(b, "tokenizer.chat_template"), 2n ** 33n)],
        ["tensor count 10^6", lieAt(b, 8, 1_000_000n)],
        ["kv count 2^60", lieAt(b, 16, 2n ** 60n)],
    ];
    const rnd = seeded(20261201);
    for (let i = 0; i < 8; i++) {
        const at =
            i < 5 ? Math.floor(rnd() * src.file.dataOffset) : src.file.dataOffset + Math.floor(rnd() * (b.length - src.file.dataOffset));
        raw.push([`truncated at ${at}`, b.subarray(0, at)]);
    }
    for (const [i, [name, bytes]] of raw.entries()) cases.push({ name, path: save(join(dir, `r${i}.gguf`), bytes) });
    for (let i = 0; i < 8; i++)
        cases.push({
            name: `3 seeded byte flips #${i}`,
            path: save(join(dir, `f${i}.gguf`), flips(b, rnd, 3, src.file.dataOffset)),
            mayRun: true,
        });
    return cases;
}

/**
 * Vocabularies llama-vocab.cpp asserts on (src/core/gguf/validate.ts, checkVocabularyAsserts): one
 * case per GGML_ASSERT / GGML_ABORT its load path and BPE tokenizer reach from the file's contents.
 */
function vocabularyCases(src: Source, dir: string): Case[] {
    const tokens = src.file.metadata.value("tokenizer.ggml.tokens") as string[];
    const withTokens = (edit: (t: string[]) => void): Edit => ({
        metadata: (m) => {
            const t = [...tokens];
            edit(t);
            m.array("tokenizer.ggml.tokens", ValueType.STRING as never, t);
        },
    });
    const duplicate = /llama\.cpp aborts on a vocabulary with duplicate tokens/;
    const edits: [string, Edit, RegExp, boolean][] = [
        // The fuzzed file the review found: every token the same string (SIGABRT in chat -m before this rule).
        ["every token the same string", withTokens((t) => t.fill("a")), duplicate, true],
        ["two tokens the same string", withTokens((t) => Object.assign(t, { 7: t[6] })), duplicate, true],
        ["two tokens the same up to a NUL byte", withTokens((t) => Object.assign(t, { 6: "ab\0x", 7: "ab\0y" })), duplicate, true],
        ["an empty token beside a token [EMPTY_6]", withTokens((t) => Object.assign(t, { 6: "", 7: "[EMPTY_6]" })), duplicate, true],
        [
            "GLM's pre-tokenizer, add_bos_token and no BOS id",
            {
                metadata: (m) => {
                    m.set("tokenizer.ggml.pre", str("glm4"));
                    m.set("tokenizer.ggml.add_bos_token", { type: ValueType.BOOL, value: true });
                    m.entries.delete("tokenizer.ggml.bos_token_id");
                },
            },
            /adds a BOS token .* but names none/,
            true,
        ],
        [
            "a 2-token vocabulary that adds an EOS it does not have",
            {
                metadata: (m) => {
                    m.array("tokenizer.ggml.tokens", ValueType.STRING as never, ["a", "b"]);
                    m.array("tokenizer.ggml.token_type", ValueType.INT32 as never, [1, 1]);
                    m.entries.delete("tokenizer.ggml.scores");
                    for (const k of [...m.entries.keys()]) if (/_token_id$/.test(k)) m.entries.delete(k);
                    m.set("tokenizer.ggml.add_eos_token", { type: ValueType.BOOL, value: true });
                },
            },
            /adds an EOS token .* but names none/,
            false, // its tensors no longer fit the vocabulary: llama.cpp refuses it for that first
        ],
        // 50,000 spaces (outside the byte-level alphabet): each becomes "[UNK_BYTE_0x20<the whole token>]", 2.5 GB in all.
        // llama-completion dies on it too ("llama-vocab.cpp:3667: invalid token size: 2500750000 exceeds int32_t
        // limit", SIGABRT), after allocating those 2.5 GB: checked once by hand, not on every run.
        [
            "a token whose piece would pass 2 GiB",
            withTokens((t) => Object.assign(t, { 6: " ".repeat(50_000) })),
            /would decode to \d+ bytes/,
            false,
        ],
        [
            "pieces over 256 MiB in all",
            withTokens((t) => {
                for (let i = 0; i < 24; i++) t[6 + i] = " ".repeat(4000 + i);
            }),
            /decoded pieces would take \d+ bytes/,
            false,
        ],
    ];
    return edits.map(([name, e, message, abortsLlama], i) => ({
        name,
        path: save(join(dir, `v${i}.gguf`), rewrite(src, e)),
        message,
        abortsLlama,
    }));
}

/** A sparse file over 2 GiB whose chat template claims 2^31 + 8 bytes: the reader must not try to hold it. */
function bigLyingFile(src: Source, path: string): Case {
    const b = src.bytes;
    const at = stringValueOffset(b, "tokenizer.chat_template");
    const head = lieAt(b, at, 2n ** 31n + 8n);
    const fd = openSync(path, "w");
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, Buffer.from([0]), 0, 1, 2 ** 31 + 2 ** 28);
    closeSync(fd);
    return { name: "2.25 GiB sparse file, template length 2^31 + 8", path };
}

// ---- mmproj cases ----------------------------------------------------------------------------

function mmprojCases(src: Source, dir: string): Case[] {
    const b = src.bytes;
    const edits: [string, Edit][] = [
        ["patch_size 0", meta("clip.vision.patch_size", u32(0))],
        ["patch_size 1000", meta("clip.vision.patch_size", u32(1000))],
        ["image_size 0", meta("clip.vision.image_size", u32(0))],
        ["image_size 13 (under the patch)", meta("clip.vision.image_size", u32(13))],
        ["head_count 0", meta("clip.vision.attention.head_count", u32(0))],
        ["head_count 3 (does not divide 64)", meta("clip.vision.attention.head_count", u32(3))],
        ["embedding_length 0", meta("clip.vision.embedding_length", u32(0))],
        ["embedding_length 32 (tensors have 64)", meta("clip.vision.embedding_length", u32(32))],
        ["block_count 0", meta("clip.vision.block_count", u32(0))],
        ["block_count 1000", meta("clip.vision.block_count", u32(1000))],
        ["projection_dim 64 (the model's embedding is 128)", meta("clip.vision.projection_dim", u32(64))],
        ["feed_forward_length 0", meta("clip.vision.feed_forward_length", u32(0))],
        ["epsilon NaN", meta("clip.vision.attention.layer_norm_epsilon", f32(NaN))],
        ["projector nonsense", meta("clip.projector_type", str("nonsense"))],
        ["projector mlp (not GLM's)", meta("clip.projector_type", str("mlp"))],
        ["image_mean of 2", arr("clip.vision.image_mean", ValueType.FLOAT32, [0.5, 0.5])],
        ["image_std 0", arr("clip.vision.image_std", ValueType.FLOAT32, [0, 0, 0])],
        ["no encoder", meta("clip.has_vision_encoder", { type: ValueType.BOOL, value: false })],
        ["gelu and silu", meta("clip.use_gelu", { type: ValueType.BOOL, value: true })],
        ["alignment 1", { ...meta("general.alignment", u32(1)), layout: 1 }],
        [
            "patch kernel [7,7,3,64]",
            {
                tensors: (t) => {
                    for (const x of t) if (x.name.startsWith("v.patch_embd.weight")) x.shape = [7, 7, 3, 64];
                },
            },
        ],
        [
            "attn_qkv [64, 96]",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "v.blk.0.attn_qkv.weight")!.shape = [64, 96];
                },
            },
        ],
        [
            "merger fc [128, 64]",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "mm.model.fc.weight")!.shape = [128, 64];
                },
            },
        ],
        [
            "position_embd [64, 4]",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "v.position_embd.weight")!.shape = [64, 4];
                },
            },
        ],
        [
            "mm.down missing",
            {
                tensors: (t) => {
                    t.splice(
                        t.findIndex((x) => x.name === "mm.down.weight"),
                        1,
                    );
                },
            },
        ],
        [
            "ln1 as f16 [32, 2]",
            {
                tensors: (t) => {
                    t.find((x) => x.name === "v.blk.1.ln1.weight")!.shape = [32, 2];
                },
            },
        ],
    ];
    const cases: Case[] = edits.map(([name, e], i) => ({ name, path: save(join(dir, `m${i}.gguf`), rewrite(src, e)) }));
    const rnd = seeded(7);
    const raw: [string, Buffer][] = [
        ["patch_size key length 2^40", lieAt(b, keyOffset(b, "clip.vision.patch_size"), 2n ** 40n)],
        ["image_mean count 2^40", lieAt(b, arrayCountOffset(b, "clip.vision.image_mean"), 2n ** 40n)],
    ];
    for (let i = 0; i < 3; i++) {
        const at = Math.floor(rnd() * b.length);
        raw.push([`truncated at ${at}`, b.subarray(0, at)]);
    }
    for (const [i, [name, bytes]] of raw.entries()) cases.push({ name, path: save(join(dir, `mr${i}.gguf`), bytes) });
    for (let i = 0; i < 4; i++)
        cases.push({
            name: `3 seeded byte flips #${i}`,
            path: save(join(dir, `mf${i}.gguf`), flips(b, rnd, 3, src.file.dataOffset)),
            mayRun: true,
        });
    return cases;
}

// ---- checkpoint cases ------------------------------------------------------------------------

type Cfg = Record<string, any>;
const CHECKPOINT_EDITS: [string, (c: Cfg) => void][] = [
    [
        "num_hidden_layers 1e9",
        (c) => {
            c.text_config.num_hidden_layers = 1e9;
        },
    ],
    [
        "num_hidden_layers 0",
        (c) => {
            c.text_config.num_hidden_layers = 0;
        },
    ],
    [
        "num_hidden_layers 2.5",
        (c) => {
            c.text_config.num_hidden_layers = 2.5;
        },
    ],
    [
        "hidden_size 64 (weights have 128)",
        (c) => {
            c.text_config.hidden_size = 64;
        },
    ],
    [
        "num_attention_heads 0",
        (c) => {
            c.text_config.num_attention_heads = 0;
        },
    ],
    [
        "num_attention_heads 3",
        (c) => {
            c.text_config.num_attention_heads = 3;
        },
    ],
    [
        "num_key_value_heads 3",
        (c) => {
            c.text_config.num_key_value_heads = 3;
        },
    ],
    [
        "num_key_value_heads 4 (weights have 2)",
        (c) => {
            c.text_config.num_key_value_heads = 4;
        },
    ],
    [
        "vocab_size 2^40",
        (c) => {
            c.text_config.vocab_size = 2 ** 40;
        },
    ],
    [
        "intermediate_size 100 (weights have 256)",
        (c) => {
            c.text_config.intermediate_size = 100;
        },
    ],
    [
        "rms_norm_eps 0",
        (c) => {
            c.text_config.rms_norm_eps = 0;
        },
    ],
    [
        "rms_norm_eps 1e300 (Inf in f32)",
        (c) => {
            c.text_config.rms_norm_eps = 1e300;
        },
    ],
    [
        "partial_rotary_factor 10",
        (c) => {
            c.text_config.rope_parameters.partial_rotary_factor = 10;
        },
    ],
    [
        "mrope_section [100, 0, 0]",
        (c) => {
            c.text_config.rope_parameters.mrope_section = [100, 0, 0];
        },
    ],
    [
        "max_position_embeddings 0",
        (c) => {
            c.text_config.max_position_embeddings = 0;
        },
    ],
    [
        "head_dim 1000",
        (c) => {
            c.text_config.head_dim = 1000;
        },
    ],
    [
        "vision depth 1e9",
        (c) => {
            c.vision_config.depth = 1e9;
        },
    ],
    [
        "vision hidden_size 32 (weights have 64)",
        (c) => {
            c.vision_config.hidden_size = 32;
        },
    ],
    [
        "vision num_heads 0",
        (c) => {
            c.vision_config.num_heads = 0;
        },
    ],
    [
        "vision patch_size 0",
        (c) => {
            c.vision_config.patch_size = 0;
        },
    ],
    [
        "vision image_size 7",
        (c) => {
            c.vision_config.image_size = 7;
        },
    ],
];

// ---- the runs --------------------------------------------------------------------------------

let text: Case[] = [],
    mmproj: Case[] = [],
    vocabulary: Case[] = [];

beforeAll(async () => {
    checkpoint = await synthesize(join(root, "glm4v"), "glm4v");
    files = (await convert(checkpoint, join(root, "out"), ["--outtype", "q8_0"])).files;
    await writeTestPng(image);
    const dir = join(root, "cases");
    cpSync(join(root, "out"), dir, { recursive: true });
    const src = await loadSource(files.text!);
    vocabulary = vocabularyCases(src, dir);
    text = [...textCases(src, dir), ...vocabulary, bigLyingFile(src, join(dir, "big.gguf"))];
    mmproj = mmprojCases(await loadSource(files.vision!), dir);
});

afterAll(() => {
    // The counts the report quotes: files tried per command and what became of them.
    process.stdout.write(`fuzz tally ${JSON.stringify(tally)}\n`);
});

describe("hostile text GGUFs", () => {
    it("info refuses each with one line, or shows it (random flips, hostile templates it does not render)", LOOP, async () => {
        for (const c of text) await expectClean("info", { ...c, mayRun: c.mayRun || c.infoMayRun }, ["info", c.path]);
    });

    it("chat -m refuses each with one line: no crash, no hang", LOOP, async () => {
        for (const c of text) await expectClean("chat", c, ["chat", "-m", c.path, "-n", "2", "--temp", "0", ...CPU]);
    });
});

describe("vocabularies llama.cpp asserts on", () => {
    it("llama.cpp's own llama-completion dies on each (the cases are real); autoglm refuses them with one line (above)", LOOP, async () => {
        const bin = join(llamaToolsDir(), "llama-completion");
        for (const c of vocabulary.filter((v) => v.abortsLlama)) {
            const r = await runTool(bin, ["-m", c.path, "-p", "hi", "-n", "1", "--no-warmup", "-t", "1"]);
            expect.soft(r.signal, `${c.name}: llama-completion exited ${r.code}\n${r.stderr.slice(-400)}`).toBe("SIGABRT");
            expect.soft(r.stderr, c.name).toMatch(/GGML_ASSERT|llama-vocab\.cpp:\d+: /);
        }
    });
});

describe("hostile mmprojs", () => {
    it("describe --mmproj refuses each with one line before the first image is encoded", LOOP, async () => {
        for (const c of mmproj)
            await expectClean("describe", c, ["describe", image, "-m", files.text!, "--mmproj", c.path, "-n", "2", ...CPU]);
    });
});

describe("hostile checkpoints", () => {
    it("NaN and infinite weights: converted as they are, with a warning naming the tensor", async () => {
        const dir = join(root, "nan");
        cpSync(checkpoint, dir, { recursive: true });
        const st = join(dir, "model.safetensors");
        const b = readFileSync(st);
        const headerBytes = Number(b.readBigUInt64LE(0));
        const header = JSON.parse(b.subarray(8, 8 + headerBytes).toString("utf8"));
        const name = "model.language_model.layers.0.self_attn.q_proj.weight";
        const at = 8 + headerBytes + header[name].data_offsets[0];
        b.writeUInt16LE(0x7fc0, at); // BF16 NaN
        b.writeUInt16LE(0x7f80, at + 2); // BF16 +Inf
        b.writeUInt16LE(0xff80, at + 4); // BF16 -Inf
        writeFileSync(st, b);
        const r = await runCli(["convert", dir, "--out", join(dir, "out"), "--outtype", "q8_0"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/^autoglm: warning: nan-Q8_0\.gguf: tensor blk\.0\.attn_q\.weight holds 3 NaN or infinite value\(s\)/m);
        expect(r.stderr.match(/warning/g)).toHaveLength(1);
        rmSync(dir, { recursive: true, force: true });
    });

    it("convert refuses each before writing anything", LOOP, async () => {
        for (const [i, [name, edit]] of CHECKPOINT_EDITS.entries()) {
            const dir = join(root, `ckpt${i}`);
            cpSync(checkpoint, dir, { recursive: true });
            const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
            edit(cfg);
            writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
            const out = join(dir, "out");
            const r = await runCli(["convert", dir, "--out", out, "--outtype", "q8_0"], { timeoutMs: HANG_MS });
            const o = classify(r);
            if (o === "ran") {
                // Accepted: does what it wrote crash llama.cpp?
                const text = readdirSync(out).find((f) => !f.startsWith("mmproj") && f.endsWith(".gguf"))!;
                const chat = classify(
                    await runCli(["chat", "-m", join(out, text), "-n", "2", ...CPU], { input: "hi\n", timeoutMs: HANG_MS }),
                );
                count("convert-output-chat", chat, name);
            }
            count("convert", o, name);
            expect.soft(o, `convert ${name}: ${o}\n${r.stderr.slice(-600)}`).toBe("refused");
            expect.soft(!existsSync(out) || readdirSync(out).length === 0, `convert ${name} left files`).toBe(true);
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** Runs a reference binary; its exit code or signal and its stderr. */
function runTool(bin: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => {
            stderr += d;
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), HANG_MS);
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stderr });
        });
    });
}
