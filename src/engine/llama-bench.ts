// Runs llama.cpp's own llama-bench (built from the bundled source against the same prebuilt
// libraries, scripts/build-llama-tools.sh) with autoglm's settings, for the ratio column.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { ContextSettings } from "./context.js";
import type { BenchOptions } from "./benchmark.js";
import type { GpuLayers } from "./model.js";
import { loadedVariant } from "./native.js";
import { UserError } from "../core/errors.js";
import { fromRoot } from "../core/package-root.js";

const run = promisify(execFile);
const SCRIPT = fromRoot("scripts", "build-llama-tools.sh");

/** A failed child process's last line of stderr (or its error message): the reason, in one line. */
function lastLine(e: unknown): string {
    return (
        String((e as { stderr?: string }).stderr ?? (e as Error).message)
            .trim()
            .split("\n")
            .pop() ?? ""
    );
}

export interface ReferenceResult {
    pp: number;
    tg: number;
    command: string;
}

/** Builds (once) and locates the tools linked to `variant`'s libraries (a node-llama-cpp package name). */
export async function llamaToolsDir(variant?: string): Promise<string> {
    try {
        const { stdout } = await run("bash", [SCRIPT], {
            maxBuffer: 1 << 20,
            env: { ...process.env, ...(variant ? { AUTOGLM_VARIANT: variant } : {}) },
        });
        return stdout.trim();
    } catch (e) {
        throw new UserError(`could not build llama.cpp's reference tools: ${lastLine(e)}`);
    }
}

/** Runs llama-bench linked to the same backend variant as this process (`loadedVariant()`). */
export async function runLlamaBench(
    model: string,
    s: ContextSettings,
    o: BenchOptions,
    gpuLayers?: GpuLayers,
    gpu?: string | false,
): Promise<ReferenceResult> {
    const bin = `${await llamaToolsDir(loadedVariant(gpu))}/llama-bench`;
    const args = [
        "-m",
        model,
        "-p",
        String(o.promptTokens),
        "-n",
        String(o.genTokens),
        "-r",
        String(o.repetitions),
        "-t",
        String(s.threads),
        "-b",
        String(s.batchSize),
        "-ub",
        String(s.ubatchSize),
        "-ctk",
        s.typeK,
        "-ctv",
        s.typeV,
        "-o",
        "json",
    ];
    if (s.flashAttention !== "auto") args.push("-fa", s.flashAttention === "on" ? "1" : "0");
    // llama-bench caps -ngl at the model's layers, so 999 is all of them; "auto" is its own default.
    if (gpuLayers !== undefined && gpuLayers !== "auto") args.push("-ngl", String(gpuLayers === "max" ? 999 : gpuLayers));
    let rows: { n_prompt: number; n_gen: number; avg_ts: number }[];
    try {
        const { stdout } = await run(bin, args, { maxBuffer: 16 << 20 });
        rows = JSON.parse(stdout);
    } catch (e) {
        throw new UserError(`llama-bench failed: ${lastLine(e)}`);
    }
    const pp = rows.find((r) => r.n_prompt > 0 && r.n_gen === 0)?.avg_ts ?? NaN;
    const tg = rows.find((r) => r.n_gen > 0 && r.n_prompt === 0)?.avg_ts ?? NaN;
    return { pp, tg, command: `llama-bench ${args.join(" ")}` };
}

/** llama-mtmd-cli's own encode time of one image ("mtmd batch encoding done in N ms"), per run. */
export async function runMtmdEncode(
    model: string,
    mmproj: string,
    image: string,
    s: ContextSettings,
    repetitions: number,
    gpuLayers?: GpuLayers,
    gpu?: string | false,
): Promise<{ encodeMs: number[]; command: string }> {
    const bin = `${await llamaToolsDir(loadedVariant(gpu))}/llama-mtmd-cli`;
    const args = [
        "-m",
        model,
        "--mmproj",
        mmproj,
        "--image",
        image,
        "-p",
        "What is on the screen?",
        "-n",
        "1",
        "--temp",
        "0",
        "-t",
        String(s.threads),
        "-b",
        String(s.batchSize),
        "-ub",
        String(s.ubatchSize),
        "-c",
        String(s.contextSize),
    ];
    if (s.flashAttention !== "auto") args.push("-fa", s.flashAttention);
    if (gpuLayers !== undefined && gpuLayers !== "auto") args.push("-ngl", String(gpuLayers === "max" ? 999 : gpuLayers));
    if (gpu === false) args.push("--no-mmproj-offload");
    const encodeMs: number[] = [];
    for (let r = 0; r < repetitions; r++) {
        let out: string;
        try {
            const { stdout, stderr } = await run(bin, args, { maxBuffer: 16 << 20 });
            out = stdout + stderr;
        } catch (e) {
            throw new UserError(`llama-mtmd-cli failed: ${lastLine(e)}`);
        }
        const m = /encoding done in (\d+(?:\.\d+)?) ms/.exec(out);
        if (!m) throw new UserError('llama-mtmd-cli printed no encode time ("mtmd batch encoding done in N ms")');
        encodeMs.push(Number(m[1]));
    }
    return { encodeMs, command: `llama-mtmd-cli ${args.join(" ")}` };
}
