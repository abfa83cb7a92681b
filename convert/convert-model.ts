// `autoglm convert` as a library call: plan every output file of a checkpoint, check the config's
// sizes, what the plan would write (the validator the runtime uses), the outputs and the free
// space before writing anything, then stream each file through the encode pool. The outputs are
// committed together: each is written as <name>.partial and all are renamed only when all are
// complete, so a kill or a full disk at any stage leaves no finished-looking file.

import { existsSync } from "node:fs";
import { mkdir, stat, statfs } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { TYPE_NAMES } from "../src/core/gguf/constants.js";
import { UserError } from "../src/core/errors.js";
import { validateMmproj, validateTextModel } from "../src/core/gguf/validate.js";
import { checkConfigSizes } from "./hparams.js";
import { openHfModel } from "./hf-model.js";
import { parameterCount, readModelCard, withModelCard } from "./model-card.js";
import { pauseAt, withFaults } from "./test-faults.js";
import type { GgufWriter } from "./gguf/writer.js";
import { EncodePool } from "./quant/pool.js";
import type { OutputRole, OutputTypes } from "./arch/types.js";
import { prepareGguf, sourceBytesOf, writeGguf, type GgufPlan } from "./write-gguf.js";

export interface ConvertOptions {
    dir: string;
    outDir?: string;
    types: OutputTypes;
    force?: boolean;
    threads?: number;
    signal?: AbortSignal;
    /** Called as source bytes are consumed, with the total for all files. */
    onBytes?: (done: number, total: number) => void;
    /** Things the output keeps that the user should know (NaN or infinite weights). */
    onWarning?: (message: string) => void;
}

export interface ConvertedFile {
    role: OutputRole;
    path: string;
    /** The out type's name: q4_k_m, f16... */
    type: string;
    tensors: number;
    bytes: number;
    seconds: number;
}

function fileName(model: string, role: OutputRole, type: string): string {
    const t = type.toUpperCase();
    return role === "text" ? `${model}-${t}.gguf` : `mmproj-${model}-${role}-${t}.gguf`;
}

/** mkdir -p one level at a time (Node's recursive mkdir can spin forever under /proc). */
async function ensureDir(dir: string): Promise<void> {
    const path = resolve(dir);
    const s = await stat(path).catch(() => undefined);
    if (s) {
        if (!s.isDirectory()) throw new UserError(`${dir} exists and is not a folder`);
        return;
    }
    if (dirname(path) !== path) await ensureDir(dirname(path));
    await mkdir(path).catch((e) => {
        if (e.code !== "EEXIST") throw new UserError(`cannot create the output folder ${dir}: ${e.message}`);
    });
}

/** The plan's files as llama.cpp and libmtmd would read them: the runtime's validator, before a byte is written. */
function validatePlans(plans: (GgufPlan & { role: OutputRole })[], configPath: string): void {
    const where = (p: GgufPlan) => `${configPath} (for ${basename(p.path)})`;
    const text = plans.find((p) => p.role === "text");
    const facts = text ? validateTextModel(text, where(text)) : undefined;
    for (const p of plans) {
        if (p.role === "text") continue;
        const m = validateMmproj(p, where(p));
        if (facts && m.projectionDim !== facts.embedding) {
            throw new UserError(
                `${where(p)}: the ${p.role} encoder projects to ${m.projectionDim} but the language model's embedding is ${facts.embedding}`,
            );
        }
    }
}

export async function convertModel(opts: ConvertOptions): Promise<{ architecture: string; files: ConvertedFile[] }> {
    const { model, converter } = await openHfModel(opts.dir);
    const pool = new EncodePool(opts.threads);
    let writers: GgufWriter[] = [];
    try {
        checkConfigSizes(model.config, join(opts.dir, "config.json"));
        const planned = [];
        for (const p of await converter.plan(model, opts.types)) {
            const card = await readModelCard(model.dir, model.config, model.name, parameterCount(p.tensors));
            planned.push({ ...p, metadata: withModelCard(p.metadata, card) });
        }
        const outDir = opts.outDir ?? opts.dir;
        const plans: (GgufPlan & { role: OutputRole; type: string })[] = planned.map((p) => {
            const type = p.role === "text" ? opts.types.text : TYPE_NAMES[opts.types.mmproj];
            return { ...p, type, path: join(outDir, fileName(model.name, p.role, type)) };
        });
        validatePlans(plans, join(opts.dir, "config.json"));
        await ensureDir(outDir);
        for (const p of plans) {
            if (existsSync(p.path) && !opts.force) throw new UserError(`${p.path} already exists (use --force to overwrite)`);
        }
        writers = plans.map((p) => withFaults(prepareGguf(p), p.role, opts.signal));
        const needed = writers.reduce((n, w) => n + w.totalBytes, 0);
        const fs = await statfs(outDir);
        const free = fs.bavail * fs.bsize;
        if (needed > free) {
            throw new UserError(
                `not enough space in ${outDir}: the output needs ${(needed / 2 ** 30).toFixed(2)} GiB, ${(free / 2 ** 30).toFixed(2)} GiB is free`,
            );
        }
        const total = plans.reduce((n, p) => n + sourceBytesOf(p), 0);
        let before = 0;
        const files: ConvertedFile[] = [];
        for (const [i, p] of plans.entries()) {
            const writer = writers[i];
            const started = performance.now();
            const file: ConvertedFile = { role: p.role, path: p.path, type: p.type, tensors: p.tensors.length, bytes: 0, seconds: 0 };
            file.bytes = await writeGguf(
                p,
                pool,
                {
                    onBytes: (done) => opts.onBytes?.(before + done, total),
                    onNonFinite: (tensor, n) =>
                        opts.onWarning?.(
                            `${basename(p.path)}: tensor ${tensor} holds ${n} NaN or infinite value(s) in the checkpoint, written as they are`,
                        ),
                    deferCommit: true,
                },
                opts.signal,
                writer,
            );
            before += sourceBytesOf(p);
            file.seconds = (performance.now() - started) / 1000;
            files.push(file);
        }
        await pauseAt("commit", opts.signal);
        if (opts.signal?.aborted) throw opts.signal.reason;
        for (const w of writers) await w.commit();
        return { architecture: converter.architectures[0], files };
    } catch (e) {
        // Every output goes: the partial ones and the complete ones not yet renamed.
        await Promise.all(writers.map((w) => w.abort()));
        throw e;
    } finally {
        await pool.close();
        await model.checkpoint.close();
    }
}
