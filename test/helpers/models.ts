// Tiny synthetic checkpoints and their conversions, built once per test file through the real CLI.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./cli.js";

export async function synthesize(dir: string, arch: string, extra: string[] = []): Promise<string> {
    if (!existsSync(join(dir, "config.json"))) {
        const r = await runCli(["synthesize", arch, dir, ...extra]);
        if (r.code !== 0) throw new Error(`synthesize failed: ${r.stderr}`);
    }
    return dir;
}

export async function convert(dir: string, out: string, args: string[] = []): Promise<{ stdout: string; files: Record<string, string> }> {
    const r = await runCli(["convert", dir, "--out", out, "--force", ...args]);
    if (r.code !== 0) throw new Error(`convert failed (${r.code}): ${r.stderr}`);
    const files: Record<string, string> = {};
    for (const line of r.stdout.split("\n")) {
        const m = /^(text|vision|audio)\s+(\S+\.gguf)/.exec(line);
        if (m) files[m[1]] = m[2];
    }
    return { stdout: r.stdout, files };
}

export interface InfoJson {
    architecture: string;
    metadata: Record<string, unknown>;
    tensors: { name: string; shape: number[]; type: string; offset: number; bytes: number }[];
}

export async function info(file: string): Promise<InfoJson> {
    const r = await runCli(["info", file, "--json"]);
    if (r.code !== 0) throw new Error(`info failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
}
