// Checks a GGUF's hyper-parameters, tokenizer keys and tensor shapes against the rules of the
// architectures autoglm runs, before llama.cpp or libmtmd sees the file: those loaders assert,
// divide by or allocate from these values (a zero head count is a SIGFPE, a rope dimension of 0 a
// hang, a lying projection size a SIGSEGV at the first image). Rules from llama.cpp's
// llama_model::load_hparams and load_tensors (glm4, llama), llama-vocab.cpp, gguf.cpp and
// tools/mtmd/clip.cpp (projectors glm4v and glma). The converter checks what it plans with the
// same functions, so it never writes a file these refuse.

import { GgmlType, ValueType } from "./constants.js";
import type { Metadata } from "./metadata.js";
import { ALL_TYPES } from "./type-table.js";
import { UserError } from "../errors.js";

export interface TensorShape {
    name: string;
    shape: number[];
    type: number;
}
export interface ModelHeader {
    metadata: Metadata;
    tensors: readonly TensorShape[];
}

/** The refusal: names the file (or config.json) and the key or tensor. */
export class InvalidModelError extends UserError {}

/** Loader limits: llama.cpp's LLAMA_MAX_LAYERS, and sizes far above any GLM model that keep allocations sane. */
export const LIMITS = {
    layers: 512,
    embedding: 65_536,
    feedForward: 1 << 20,
    heads: 1024,
    headDim: 4096,
    context: 1 << 24,
    vocabulary: 1 << 22,
    imageSize: 1 << 14,
    patchSize: 1024,
    melBins: 1024,
};
/** llama.cpp's GGUF writers align to 32; smaller alignments put tensor data where the CPU kernels do not expect it. */
export const MIN_ALIGNMENT = 32;
export const MAX_ALIGNMENT = 1 << 16;
/** The text architectures autoglm's converter writes: GLM-4 / GLM-4.1V text and GLM-ASR's llama decoder. */
const TEXT_ARCHITECTURES = ["glm4", "llama"];
/** Projectors per modality that autoglm's encoders are built for (clip.cpp's names). */
const PROJECTORS: Record<string, string[]> = { vision: ["glm4v"], audio: ["glma"] };
const ROPE_SCALING = ["none", "linear", "yarn", "longrope"];
/** GLM's template is about 5 KB. */
const MAX_TEMPLATE_CHARS = 1 << 20;
/** llama_token_type: UNDEFINED .. BYTE. */
const MAX_TOKEN_TYPE = 6;
const SMALL_TYPES = new Set<number>([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);

const INT_TYPES = new Set<ValueType>([
    ValueType.UINT8,
    ValueType.INT8,
    ValueType.UINT16,
    ValueType.INT16,
    ValueType.UINT32,
    ValueType.INT32,
    ValueType.UINT64,
    ValueType.INT64,
]);
const TYPE_NAME: Record<number, string> = Object.fromEntries(
    Object.entries(ValueType)
        .filter(([, v]) => typeof v === "number")
        .map(([k, v]) => [v, k.toLowerCase()]),
);

/** Typed reads of one file's metadata; every failure names the file and the key. */
class Keys {
    constructor(
        private readonly meta: Metadata,
        readonly where: string,
    ) {}

    fail(what: string): never {
        throw new InvalidModelError(`${this.where}: ${what}`);
    }
    has(key: string): boolean {
        return this.meta.get(key) !== undefined;
    }
    keys(): IterableIterator<string> {
        return this.meta.entries.keys();
    }

    /** A u32 (what llama.cpp's get_key and clip.cpp's get_u32 require) in [min, max]; undefined when absent and optional. */
    u32(key: string, min: number, max: number, required: true): number;
    u32(key: string, min: number, max: number, required?: boolean): number | undefined;
    u32(key: string, min: number, max: number, required = false): number | undefined {
        const v = this.meta.get(key);
        if (!v) return required ? this.fail(`${key} is missing`) : undefined;
        if (v.type !== ValueType.UINT32) this.fail(`${key} is a ${TYPE_NAME[v.type]}, llama.cpp needs a uint32`);
        return this.range(key, Number(v.value), min, max);
    }

    /** A u32, or an integer array with one value per layer (llama.cpp's get_key_or_arr); the values. */
    perLayer(key: string, layers: number, min: number, max: number, required: boolean): number[] | undefined {
        const v = this.meta.get(key);
        if (!v) return required ? this.fail(`${key} is missing`) : undefined;
        if (v.type !== ValueType.ARRAY) return new Array<number>(layers).fill(this.u32(key, min, max, true));
        if (!INT_TYPES.has(v.itemType as ValueType)) this.fail(`${key} is an array of ${TYPE_NAME[v.itemType]}, not integers`);
        if (v.values.length !== layers) this.fail(`${key} has ${v.values.length} values for ${layers} layers`);
        return v.values.map((x) => this.range(key, Number(x), min, max));
    }

    f32(key: string, check: (v: number) => boolean, rule: string, required = false): number | undefined {
        const v = this.meta.get(key);
        if (!v) return required ? this.fail(`${key} is missing`) : undefined;
        if (v.type !== ValueType.FLOAT32) this.fail(`${key} is a ${TYPE_NAME[v.type]}, llama.cpp needs a float32`);
        const n = Number(v.value);
        if (!check(n)) this.fail(`${key} is ${n}; it must be ${rule}`);
        return n;
    }

    str(key: string, required = false): string | undefined {
        const v = this.meta.get(key);
        if (!v) return required ? this.fail(`${key} is missing`) : undefined;
        if (v.type !== ValueType.STRING) this.fail(`${key} is a ${TYPE_NAME[v.type]}, not a string`);
        return String(v.value);
    }

    bool(key: string): boolean | undefined {
        const v = this.meta.get(key);
        if (!v) return undefined;
        if (v.type !== ValueType.BOOL) this.fail(`${key} is a ${TYPE_NAME[v.type]}, not a bool`);
        return v.value === true;
    }

    array(key: string, itemTypes: ValueType[], required = false): (number | string | bigint | boolean)[] | undefined {
        const v = this.meta.get(key);
        if (!v) return required ? this.fail(`${key} is missing`) : undefined;
        if (v.type !== ValueType.ARRAY || !itemTypes.includes(v.itemType as ValueType)) {
            this.fail(`${key} must be an array of ${itemTypes.map((t) => TYPE_NAME[t]).join(" or ")}`);
        }
        return v.values;
    }

    range(key: string, n: number, min: number, max: number): number {
        if (!Number.isInteger(n) || n < min || n > max)
            this.fail(`${key} is ${n}; it must be ${max === Infinity ? `at least ${min}` : `${min} to ${max}`}`);
        return n;
    }
}

/** Checks each tensor present against the shape the hyper-parameters give it. */
class Tensors {
    private readonly byName = new Map<string, TensorShape>();
    constructor(
        tensors: readonly TensorShape[],
        private readonly keys: Keys,
    ) {
        for (const t of tensors) {
            if (this.byName.has(t.name)) keys.fail(`tensor ${t.name} appears twice`);
            if (t.shape.some((d) => d === 0)) keys.fail(`tensor ${t.name} has a zero dimension [${t.shape}]`);
            // Norms and biases are added or multiplied element-wise: ggml needs them unquantized.
            if (t.shape.length === 1 && !SMALL_TYPES.has(t.type))
                keys.fail(
                    `tensor ${t.name} is a vector in type ${ALL_TYPES[t.type]?.[0] ?? t.type}; norms and biases must be F32, F16 or BF16`,
                );
            this.byName.set(t.name, t);
        }
    }

    get(name: string): TensorShape | undefined {
        return this.byName.get(name);
    }

    /** `name` must have `shape` (when present; when absent too if required). The tensor's shape when present. */
    expect(name: string, shape: number[], required: boolean, why: string): number[] | undefined {
        const t = this.byName.get(name);
        if (!t) return required ? this.keys.fail(`tensor ${name} is missing`) : undefined;
        const same = t.shape.length === shape.length && t.shape.every((d, i) => shape[i] === -1 || d === shape[i]);
        if (!same) this.keys.fail(`tensor ${name} has shape [${t.shape}], ${why} say [${shape.map((d) => (d === -1 ? "*" : d))}]`);
        return t.shape;
    }

    /** No tensor of a layer past `layers` (llama.cpp would read past its layer table). */
    layersWithin(prefix: string, layers: number, count: string): void {
        const re = new RegExp(`^${prefix.replace(".", "\\.")}(\\d+)\\.`);
        for (const name of this.byName.keys()) {
            const m = re.exec(name);
            if (m && Number(m[1]) >= layers) this.keys.fail(`tensor ${name} is past the ${layers} layers ${count} declares`);
        }
    }
}

export interface TextModelFacts {
    architecture: string;
    embedding: number;
    vocabulary: number;
    layers: number;
}

/** general.alignment: a uint32 power of two (gguf.cpp), within what llama.cpp's kernels are tested with. */
export function checkAlignment(metadata: Metadata, where: string): number {
    const keys = new Keys(metadata, where);
    if (!keys.has("general.alignment")) return 32;
    const a = keys.u32("general.alignment", 1, MAX_ALIGNMENT, true);
    if ((a & (a - 1)) !== 0) keys.fail(`general.alignment is ${a}, not a power of two`);
    if (a < MIN_ALIGNMENT) keys.fail(`general.alignment is ${a}; autoglm needs ${MIN_ALIGNMENT} to ${MAX_ALIGNMENT} (llama.cpp writes 32)`);
    return a;
}

/** Validates a language model's header (glm4 or llama); the facts the runtime needs. */
export function validateTextModel(h: ModelHeader, where: string): TextModelFacts {
    const k = new Keys(h.metadata, where);
    checkAlignment(h.metadata, where);
    const arch = k.str("general.architecture", true)!;
    if (arch === "clip") k.fail("is an mmproj (vision/audio encoder) file, not a language model; pass it with --mmproj");
    if (!TEXT_ARCHITECTURES.includes(arch))
        k.fail(`general.architecture is "${arch}"; autoglm runs ${TEXT_ARCHITECTURES.join(" and ")} language models`);
    const p = `${arch}.`;

    k.u32(`${p}context_length`, 1, LIMITS.context, true);
    const embd = k.u32(`${p}embedding_length`, 1, LIMITS.embedding, true);
    const layers = k.u32(`${p}block_count`, 1, LIMITS.layers, true);
    const ff = k.perLayer(`${p}feed_forward_length`, layers, 1, LIMITS.feedForward, true)!;
    const heads = k.perLayer(`${p}attention.head_count`, layers, 1, LIMITS.heads, true)!;
    const kvHeads = k.perLayer(`${p}attention.head_count_kv`, layers, 1, LIMITS.heads, false) ?? heads;
    heads.forEach((n, i) => {
        if (n % kvHeads[i]! !== 0) k.fail(`${p}attention.head_count ${n} is not a multiple of ${p}attention.head_count_kv ${kvHeads[i]}`);
    });
    const nHead = heads[0]!;
    if (!k.has(`${p}attention.key_length`) && embd % nHead !== 0)
        k.fail(`${p}embedding_length ${embd} is not a multiple of ${p}attention.head_count ${nHead}`);
    const dk = k.u32(`${p}attention.key_length`, 1, LIMITS.headDim) ?? embd / nHead;
    const dv = k.u32(`${p}attention.value_length`, 1, LIMITS.headDim) ?? embd / nHead;
    const rot = k.u32(`${p}rope.dimension_count`, 2, dk) ?? dk;
    if (rot % 2 !== 0) k.fail(`${p}rope.dimension_count is ${rot}; rotary dimensions come in pairs`);
    const sections = k.array(`${p}rope.dimension_sections`, [ValueType.INT32, ValueType.UINT32]);
    if (sections) {
        if (sections.length > 4) k.fail(`${p}rope.dimension_sections has ${sections.length} values (at most 4)`);
        const s = sections.map((x) => k.range(`${p}rope.dimension_sections`, Number(x), 0, rot / 2));
        const sum = s.reduce((a, b) => a + b, 0);
        if (sum < 1 || sum > rot / 2)
            k.fail(`${p}rope.dimension_sections [${s}] sum to ${sum}; M-RoPE needs 1 to ${rot / 2} (half of ${p}rope.dimension_count)`);
    }
    k.f32(`${p}attention.layer_norm_rms_epsilon`, (e) => e > 0 && e < 1, "a number between 0 and 1", true);
    k.f32(`${p}attention.layer_norm_epsilon`, (e) => e > 0 && e < 1, "a number between 0 and 1");
    k.f32(`${p}rope.freq_base`, (b) => Number.isFinite(b) && b > 0, "a positive number");
    k.f32(`${p}rope.scaling.factor`, (f) => Number.isFinite(f) && f >= 0, "a non-negative number");
    const scaling = k.str(`${p}rope.scaling.type`);
    if (scaling !== undefined && !ROPE_SCALING.includes(scaling))
        k.fail(`${p}rope.scaling.type is "${scaling}"; llama.cpp knows ${ROPE_SCALING.join(", ")}`);
    const experts = k.u32(`${p}expert_count`, 0, LIMITS.heads) ?? 0;
    if (experts) k.fail(`${p}expert_count is ${experts}; autoglm runs dense models`);

    const vocab = validateTokenizer(k);

    const t = new Tensors(h.tensors, k);
    const HP = "the hyper-parameters";
    t.expect("token_embd.weight", [embd, vocab], true, `${p}embedding_length and the ${vocab} tokens`);
    t.expect("output_norm.weight", [embd], true, HP);
    t.expect("output.weight", [embd, vocab], false, `${p}embedding_length and the ${vocab} tokens`);
    t.layersWithin("blk.", layers, `${p}block_count`);
    for (let i = 0; i < layers; i++) {
        const b = `blk.${i}.`;
        const q = heads[i]! * dk,
            kv = kvHeads[i]! * dk,
            v = kvHeads[i]! * dv,
            f = ff[i]!;
        t.expect(`${b}attn_norm.weight`, [embd], true, HP);
        if (t.get(`${b}attn_qkv.weight`)) {
            t.expect(`${b}attn_qkv.weight`, [embd, q + kv + v], true, HP);
            t.expect(`${b}attn_qkv.bias`, [q + kv + v], false, HP);
        } else {
            t.expect(`${b}attn_q.weight`, [embd, q], true, HP);
            t.expect(`${b}attn_k.weight`, [embd, kv], true, HP);
            t.expect(`${b}attn_v.weight`, [embd, v], true, HP);
            t.expect(`${b}attn_q.bias`, [q], false, HP);
            t.expect(`${b}attn_k.bias`, [kv], false, HP);
            t.expect(`${b}attn_v.bias`, [v], false, HP);
        }
        t.expect(`${b}attn_output.weight`, [heads[i]! * dk, embd], true, HP);
        t.expect(`${b}ffn_norm.weight`, [embd], true, HP);
        t.expect(`${b}ffn_down.weight`, [f, embd], true, HP);
        if (arch === "glm4") {
            t.expect(`${b}post_attention_norm.weight`, [embd], true, HP);
            t.expect(`${b}post_ffw_norm.weight`, [embd], true, HP);
            t.expect(`${b}ffn_up.weight`, [embd, 2 * f], true, `${HP} (gate and up fused)`);
        } else {
            t.expect(`${b}ffn_gate.weight`, [embd, f], true, HP);
            t.expect(`${b}ffn_up.weight`, [embd, f], true, HP);
        }
    }
    return { architecture: arch, embedding: embd, vocabulary: vocab, layers };
}

/** llama-vocab.cpp's keys for a BPE (gpt2) vocabulary, GLM's; the vocabulary size. */
function validateTokenizer(k: Keys): number {
    const model = k.str("tokenizer.ggml.model", true)!;
    if (model !== "gpt2") k.fail(`tokenizer.ggml.model is "${model}"; GLM models use the BPE tokenizer ("gpt2")`);
    k.str("tokenizer.ggml.pre");
    const tokens = k.array("tokenizer.ggml.tokens", [ValueType.STRING], true)!;
    const n = tokens.length;
    if (n < 1 || n > LIMITS.vocabulary) k.fail(`tokenizer.ggml.tokens has ${n} tokens (1 to ${LIMITS.vocabulary})`);
    const types = k.array("tokenizer.ggml.token_type", [ValueType.INT32]);
    if (types) {
        if (types.length !== n) k.fail(`tokenizer.ggml.token_type has ${types.length} entries for ${n} tokens`);
        const bad = types.findIndex((x) => !(Number(x) >= 0 && Number(x) <= MAX_TOKEN_TYPE));
        if (bad >= 0) k.fail(`tokenizer.ggml.token_type of token ${bad} is ${types[bad]} (0 to ${MAX_TOKEN_TYPE})`);
    }
    const scores = k.array("tokenizer.ggml.scores", [ValueType.FLOAT32]);
    if (scores && (scores.length !== n || scores.some((x) => !Number.isFinite(Number(x)))))
        k.fail(`tokenizer.ggml.scores must hold ${n} finite numbers`);
    const merges = k.array("tokenizer.ggml.merges", [ValueType.STRING], true)!;
    const bad = merges.findIndex((m) => (m as string).indexOf(" ", 1) < 0);
    if (bad >= 0)
        k.fail(
            `tokenizer.ggml.merges entry ${bad} (${JSON.stringify(String(merges[bad]).slice(0, 40))}) is not two tokens separated by a space`,
        );
    for (const key of k.keys()) {
        if (/^tokenizer\.ggml\.\w+_token_id$/.test(key)) k.u32(key, 0, n - 1);
    }
    const template = k.str("tokenizer.chat_template");
    if (template !== undefined && template.length > MAX_TEMPLATE_CHARS)
        k.fail(`tokenizer.chat_template is ${template.length} characters (at most ${MAX_TEMPLATE_CHARS})`);
    checkVocabularyAsserts(k, tokens as string[], types?.map(Number));
    return n;
}

/** BPE pre-tokenizers for which llama-vocab.cpp adds a BOS unless tokenizer.ggml.add_bos_token says otherwise. */
const PRE_ADDS_BOS = new Set([
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "falcon-h1",
    "pixtral",
    "midm-2.0",
    "lfm2",
    "jina-v5-nano",
    "tekken",
    "chameleon",
]);
/** ... and those for which it adds one whatever the key says. */
const PRE_FORCES_BOS = new Set(["gemma4", "granite-embed-multi-311m"]);
/** Pre-tokenizers with no default BOS id (GLM's): only tokenizer.ggml.bos_token_id gives one. */
const PRE_WITHOUT_BOS = new Set(["glm4", "chatglm-bpe"]);
/** The 256 code points GPT-2's byte-level encoding maps bytes to (unicode.cpp's unicode_utf8_to_byte_map). */
const byteLevel = (cp: number) => (cp >= 0x21 && cp <= 0x7e) || (cp >= 0xa1 && cp <= 0xac) || (cp >= 0xae && cp <= 0x143);
/** llama-vocab.cpp's _try_copy aborts on a piece of INT32_MAX bytes or more. */
const MAX_PIECE_BYTES = 2 ** 31 - 1;
/** What the token-to-piece cache (built at load, for every token) may take: GLM's is about 1.5 MB. */
const MAX_PIECE_CACHE_BYTES = 256 * 2 ** 20;
/** llama_token_type values (llama.h). */
const TOKEN_TYPE = { undefined: 0, normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 };

/**
 * The vocabulary conditions llama-vocab.cpp's load path and tokenizer GGML_ASSERT (or GGML_ABORT) on,
 * which kill the process instead of failing the load:
 * - llama_vocab::impl::load: GGML_ASSERT(id_to_token.size() == token_to_id.size()), two tokens with
 *   the same text. The text is read through a C string (cut at its first NUL byte), and an empty one
 *   becomes "[EMPTY_<id>]", so both count.
 * - llm_tokenizer_bpe_session::append_bos / append_eos: GGML_ASSERT(token_bos() != LLAMA_TOKEN_NULL)
 *   at the first tokenization with special tokens when the model adds a BOS (or EOS) it has none of.
 * - token_to_piece's _try_copy: GGML_ABORT on a piece of INT32_MAX bytes, and the cache of every
 *   token's piece is built at load: llama_decode_text writes "[UNK_BYTE_0x..<the whole token>]" for
 *   each code point outside the byte-level alphabet, so a long token of such code points grows
 *   quadratically (a 50 KB token: 2.5 GB).
 * Other vocabulary faults there are exceptions llama.cpp turns into a failed load.
 */
function checkVocabularyAsserts(k: Keys, tokens: string[], types: number[] | undefined): void {
    const seen = new Map<string, number>();
    tokens.forEach((t, i) => {
        const nul = t.indexOf("\0");
        const text = (nul >= 0 ? t.slice(0, nul) : t) || `[EMPTY_${i}]`;
        const first = seen.get(text);
        if (first !== undefined)
            k.fail(
                `tokenizer.ggml.tokens ${first} and ${i} are the same text (${JSON.stringify(text.slice(0, 40))}${nul >= 0 ? ", up to a NUL byte" : ""}); llama.cpp aborts on a vocabulary with duplicate tokens`,
            );
        seen.set(text, i);
    });

    const n = tokens.length;
    const pre = k.str("tokenizer.ggml.pre") ?? "default";
    const addBos = PRE_FORCES_BOS.has(pre) || (k.bool("tokenizer.ggml.add_bos_token") ?? PRE_ADDS_BOS.has(pre));
    // Without the key, BPE's default BOS is id 1 and EOS id 2, dropped when the vocabulary is smaller.
    const hasBos = k.has("tokenizer.ggml.bos_token_id") || (!PRE_WITHOUT_BOS.has(pre) && n > 1);
    if (addBos && !hasBos)
        k.fail(
            "the tokenizer adds a BOS token (tokenizer.ggml.add_bos_token) but names none (tokenizer.ggml.bos_token_id); llama.cpp aborts on it",
        );
    if (k.bool("tokenizer.ggml.add_eos_token") && !k.has("tokenizer.ggml.eos_token_id") && n <= 2)
        k.fail(
            "the tokenizer adds an EOS token (tokenizer.ggml.add_eos_token) but names none (tokenizer.ggml.eos_token_id); llama.cpp aborts on it",
        );

    let cache = 0;
    tokens.forEach((t, i) => {
        const type = types?.[i] ?? TOKEN_TYPE.normal;
        let piece = Buffer.byteLength(t);
        // Special, user-defined and unknown tokens are copied as they are; normal ones decoded byte-level.
        if (type === TOKEN_TYPE.normal) {
            piece = 0;
            const bytes = Buffer.byteLength(t);
            for (const ch of t) {
                const cp = ch.codePointAt(0)!;
                // A replacement character may stand for up to 3 invalid bytes, each its own [UNK_BYTE_...].
                const count = cp === 0xfffd ? 3 : 1;
                piece += byteLevel(cp) ? 1 : count * ("[UNK_BYTE_0x".length + 2 * Buffer.byteLength(ch) + bytes + 1);
            }
        }
        if (piece >= MAX_PIECE_BYTES)
            k.fail(`tokenizer.ggml.tokens ${i} would decode to ${piece} bytes; llama.cpp aborts on a token piece of 2 GiB or more`);
        cache += piece;
    });
    if (cache > MAX_PIECE_CACHE_BYTES)
        k.fail(
            `the vocabulary's decoded pieces would take ${cache} bytes (at most ${MAX_PIECE_CACHE_BYTES}): llama.cpp builds them all at load`,
        );
}

export interface MmprojFacts {
    vision: boolean;
    audio: boolean;
    projector: string;
    patchSize: number;
    projectionDim: number;
}

/** Validates an mmproj (clip) header for the projectors autoglm uses. */
export function validateMmproj(h: ModelHeader, where: string): MmprojFacts {
    const k = new Keys(h.metadata, where);
    checkAlignment(h.metadata, where);
    const arch = k.str("general.architecture", true);
    if (arch !== "clip") k.fail(`is a language model (general.architecture "${arch}"), not an mmproj file`);
    const vision = k.bool("clip.has_vision_encoder") === true;
    const audio = k.bool("clip.has_audio_encoder") === true;
    if (!vision && !audio) k.fail("declares neither a vision nor an audio encoder (clip.has_vision_encoder / clip.has_audio_encoder)");
    if (vision && audio) k.fail("declares both a vision and an audio encoder; autoglm's GLM mmprojs hold one");
    const modality = vision ? "vision" : "audio";
    const p = `clip.${modality}.`;
    const projector = k.str(`${p}projector_type`) ?? k.str("clip.projector_type", true)!;
    if (!PROJECTORS[modality]!.includes(projector))
        k.fail(`clip.projector_type is "${projector}"; autoglm's ${modality} encoder is ${PROJECTORS[modality]!.join(", ")}`);

    const embd = k.u32(`${p}embedding_length`, 1, LIMITS.embedding, true);
    const heads = k.u32(`${p}attention.head_count`, 1, LIMITS.heads, true);
    if (embd % heads !== 0) k.fail(`${p}embedding_length ${embd} is not a multiple of ${p}attention.head_count ${heads}`);
    const kvHeads = k.u32(`${p}attention.head_count_kv`, 1, heads);
    if (kvHeads !== undefined && heads % kvHeads !== 0)
        k.fail(`${p}attention.head_count ${heads} is not a multiple of ${p}attention.head_count_kv ${kvHeads}`);
    const ff = k.u32(`${p}feed_forward_length`, 1, LIMITS.feedForward, true);
    const layers = k.u32(`${p}block_count`, 1, LIMITS.layers, true);
    const proj = k.u32(`${p}projection_dim`, 1, LIMITS.embedding, true);
    k.f32(`${p}attention.layer_norm_epsilon`, (e) => e > 0 && e < 1, "a number between 0 and 1", true);
    if (k.bool("clip.use_gelu") && k.bool("clip.use_silu")) k.fail("sets both clip.use_gelu and clip.use_silu");
    const feature = k.array(`${p}feature_layer`, [ValueType.INT32, ValueType.UINT32]);
    for (const x of feature ?? []) k.range(`${p}feature_layer`, Number(x), 0, layers);

    const t = new Tensors(h.tensors, k);
    const HP = "the hyper-parameters";
    let patch = 0;
    if (vision) {
        patch = k.u32("clip.vision.patch_size", 1, LIMITS.patchSize, true);
        const size = k.u32("clip.vision.image_size", patch, LIMITS.imageSize, true);
        if (size % patch !== 0) k.fail(`clip.vision.image_size ${size} is not a multiple of clip.vision.patch_size ${patch}`);
        for (const key of ["clip.vision.image_mean", "clip.vision.image_std"]) {
            const v = k.array(key, [ValueType.FLOAT32], true)!.map(Number);
            if (v.length < 3 || v.some((x) => !Number.isFinite(x))) k.fail(`${key} must hold 3 finite numbers`);
            if (key.endsWith("std") && v.some((x) => x <= 0)) k.fail(`${key} [${v}] must be positive (pixels are divided by it)`);
        }
        const grid = size / patch;
        t.expect("v.patch_embd.weight", [patch, patch, 3, embd], true, "clip.vision.patch_size and embedding_length");
        t.expect("v.patch_embd.weight.1", [patch, patch, 3, embd], false, "clip.vision.patch_size and embedding_length");
        t.expect("v.patch_embd.bias", [embd], false, HP);
        t.expect(
            "v.position_embd.weight",
            [embd, grid * grid],
            true,
            `clip.vision.image_size / patch_size (${grid} x ${grid}) and embedding_length`,
        );
        t.expect("v.norm_embd.weight", [embd], false, HP);
        t.expect("v.post_ln.weight", [embd], false, HP);
        t.layersWithin("v.blk.", layers, `${p}block_count`);
        for (let i = 0; i < layers; i++) {
            const b = `v.blk.${i}.`;
            t.expect(`${b}ln1.weight`, [embd], true, HP);
            t.expect(`${b}ln2.weight`, [embd], true, HP);
            t.expect(`${b}attn_qkv.weight`, [embd, 3 * embd], true, HP);
            t.expect(`${b}attn_qkv.bias`, [3 * embd], false, HP);
            t.expect(`${b}attn_out.weight`, [embd, embd], true, HP);
            t.expect(`${b}attn_out.bias`, [embd], false, HP);
            const down = t.expect(`${b}ffn_down.weight`, [-1, embd], true, HP)!;
            t.expect(`${b}ffn_up.weight`, [embd, down[0]!], true, `${b}ffn_down.weight`);
            t.expect(`${b}ffn_gate.weight`, [embd, down[0]!], true, `${b}ffn_down.weight`);
        }
        // The merger: 2 x 2 patches -> the language model's embedding (projection_dim).
        t.expect("mm.patch_merger.weight", [2, 2, embd, proj], true, `${p}embedding_length and projection_dim`);
        t.expect("mm.patch_merger.bias", [proj], false, HP);
        t.expect("mm.model.fc.weight", [proj, proj], true, `${p}projection_dim`);
        t.expect("mm.post_norm.weight", [proj], false, HP);
        t.expect("mm.post_norm.bias", [proj], false, HP);
        t.expect("mm.gate.weight", [proj, ff], true, `${p}projection_dim and feed_forward_length`);
        t.expect("mm.up.weight", [proj, ff], true, `${p}projection_dim and feed_forward_length`);
        t.expect("mm.down.weight", [ff, proj], true, `${p}projection_dim and feed_forward_length`);
    } else {
        k.u32("clip.audio.num_mel_bins", 1, LIMITS.melBins, true);
        k.u32("clip.audio.projector.stack_factor", 1, 64, true);
        t.layersWithin("a.blk.", layers, `${p}block_count`);
    }
    return { vision, audio, projector, patchSize: patch, projectionDim: proj };
}
