// Opens a Hugging Face checkpoint folder: config.json, safetensors (single or sharded),
// tokenizer files and the preprocessor config, with a clear error for each thing missing.

import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { HfModel } from "./arch/types.js";
import { converterFor } from "./arch/index.js";
import type { ArchitectureConverter } from "./arch/types.js";
import { UserError } from "../src/core/errors.js";
import { SafetensorsCheckpoint } from "./safetensors.js";
import { loadTokenizerFiles } from "./tokenizer.js";

// biome-ignore lint/suspicious/noExplicitAny: Hugging Face JSON of any shape; each reader checks the fields it uses
export async function readConfig(dir: string): Promise<Record<string, any>> {
    const path = join(dir, "config.json");
    if (!existsSync(dir)) throw new UserError(`${dir} does not exist`);
    if (!statSync(dir).isDirectory()) throw new UserError(`${dir} is not a folder: give the Hugging Face checkpoint folder`);
    if (!existsSync(path)) throw new UserError(`${dir} is not a Hugging Face checkpoint: no config.json`);
    let config: unknown;
    try {
        config = JSON.parse(await readFile(path, "utf8"));
    } catch (e) {
        throw new UserError(`config.json in ${dir} is not valid JSON (${(e as Error).message})`);
    }
    if (!config || typeof config !== "object" || Array.isArray(config)) throw new UserError(`config.json in ${dir} is not a JSON object`);
    // biome-ignore lint/suspicious/noExplicitAny: as readConfig
    return config as Record<string, any>;
}

export async function openHfModel(dir: string): Promise<{ model: HfModel; converter: ArchitectureConverter }> {
    const config = await readConfig(dir);
    const arch = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
    if (typeof arch !== "string") throw new UserError(`config.json in ${dir} names no architecture ("architectures" is missing)`);
    const converter = converterFor(arch);
    const checkpoint = await SafetensorsCheckpoint.open(dir);
    try {
        const tokenizer = await loadTokenizerFiles(dir);
        const prePath = join(dir, "preprocessor_config.json");
        const preprocessor = existsSync(prePath) ? JSON.parse(await readFile(prePath, "utf8")) : undefined;
        const name = basename(resolve(dir));
        return { model: { dir, name, config, checkpoint, tokenizer, preprocessor }, converter };
    } catch (e) {
        await checkpoint.close();
        throw e;
    }
}
