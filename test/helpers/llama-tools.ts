// Locates llama.cpp's reference tools built by scripts/build-llama-tools.sh.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cli.js";

let cached: string | undefined;

/** Folder of the reference binaries; builds them on first use (minutes, once per machine). */
export function llamaToolsDir(): string {
    if (cached) return cached;
    cached = execFileSync("bash", [join(ROOT, "scripts", "build-llama-tools.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 3_600_000,
    }).trim();
    if (!existsSync(join(cached, "llama-mtmd-cli")) || !existsSync(join(cached, "llama-bench")))
        throw new Error(`llama tools missing in ${cached}`);
    return cached;
}

/** The bundled llama.cpp source (convert_hf_to_gguf.py, gguf-py), as scripts/llama-source.sh prints it. */
export function llamaSourceDir(): string {
    return execFileSync("bash", [join(ROOT, "scripts", "llama-source.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    }).trim();
}
