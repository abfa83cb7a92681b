// The one check of a path given where a GGUF file is expected (-m, --mmproj, info): missing, a
// folder, or Hugging Face weights that need `autoglm convert` first, each as one line.

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "./errors.js";

/** Throws a UserError unless `path` is a regular file; `what` names it ("model file", "mmproj file"). */
export function checkGgufPath(path: string, what: string): void {
    if (!existsSync(path)) throw new UserError(`${what} not found: ${path}`);
    if (statSync(path).isDirectory()) {
        if (existsSync(join(path, "config.json"))) {
            throw new UserError(
                `${path} is a Hugging Face checkpoint folder, not a GGUF file: convert it first with \`autoglm convert ${path}\``,
            );
        }
        throw new UserError(`${path} is a folder, not a GGUF file`);
    }
    if (!statSync(path).isFile()) throw new UserError(`${path} is not a file`);
    if (/\.safetensors$/i.test(path)) {
        throw new UserError(
            `${path} is a safetensors file, not GGUF: convert its checkpoint folder first with \`autoglm convert <folder>\``,
        );
    }
}
