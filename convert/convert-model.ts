// `autoglm convert` as a library call: plan every output file of a checkpoint, check the outputs
// and the free space before writing anything, then stream each file through the encode pool.

import { existsSync } from "node:fs";
import { mkdir, stat, statfs } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { TYPE_NAMES } from "../src/core/gguf/constants.js";
import { UserError } from "../src/core/errors.js";
import { openHfModel } from "./hf-model.js";
import { parameterCount, readModelCard, withModelCard } from "./model-card.js";
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

export async function convertModel(opts: ConvertOptions): Promise<{ architecture: string; files: ConvertedFile[] }> {
    const { model, converter } = await openHfModel(opts.dir);
    const pool = new EncodePool(opts.threads);
    try {
        const planned = [];
        for (const p of await converter.plan(model, opts.types)) {
            const card = await readModelCard(model.dir, model.config, model.name, parameterCount(p.tensors));
            planned.push({ ...p, metadata: withModelCard(p.metadata, card) });
        }
        const outDir = opts.outDir ?? opts.dir;
        await ensureDir(outDir);
        const plans: (GgufPlan & { role: OutputRole; type: string })[] = planned.map((p) => {
            const type = p.role === "text" ? opts.types.text : TYPE_NAMES[opts.types.mmproj];
            return { ...p, type, path: join(outDir, fileName(model.name, p.role, type)) };
        });
        for (const p of plans) {
            if (existsSync(p.path) && !opts.force) throw new UserError(`${p.path} already exists (use --force to overwrite)`);
        }
        const writers = plans.map(prepareGguf);
        const needed = writers.reduce((n, w) => n + w.totalBytes, 0);
        const fs = await statfs(outDir);
        const free = fs.bavail * fs.bsize;
        if (needed > free) {
            throw new UserError(`not enough space in ${outDir}: the output needs ${(needed / 2 ** 30).toFixed(2)} GiB, ${(free / 2 ** 30).toFixed(2)} GiB is free`);
        }
        const total = plans.reduce((n, p) => n + sourceBytesOf(p), 0);
        let before = 0;
        const files: ConvertedFile[] = [];
        for (const [i, p] of plans.entries()) {
            const writer = writers[i];
            const started = performance.now();
            const file: ConvertedFile = { role: p.role, path: p.path, type: p.type, tensors: p.tensors.length, bytes: 0, seconds: 0 };
            file.bytes = await writeGguf(p, pool, { onBytes: (done) => opts.onBytes?.(before + done, total) }, opts.signal, writer);
            before += sourceBytesOf(p);
            file.seconds = (performance.now() - started) / 1000;
            files.push(file);
        }
        return { architecture: converter.architectures[0], files };
    } finally {
        await pool.close();
        await model.checkpoint.close();
    }
}
