// Runs the real CLI (bin/autoglm.js, compiled) as a child process.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = fileURLToPath(new URL("../../bin/autoglm.js", import.meta.url));

export interface CliResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

export function runCli(
    args: string[],
    opts: { input?: string; timeoutMs?: number; onSpawn?: (pid: number) => void; env?: NodeJS.ProcessEnv; moduleLog?: string } = {},
): Promise<CliResult> {
    // moduleLog: the file test/helpers/module-log.mjs writes every module the process resolved to.
    const logged = opts.moduleLog ? ["--import", fileURLToPath(new URL("./module-log.mjs", import.meta.url))] : [];
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...logged, BIN, ...args], {
            cwd: ROOT,
            env: { ...process.env, ...(opts.moduleLog ? { AUTOGLM_MODULE_LOG: opts.moduleLog } : {}), ...opts.env },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "",
            stderr = "";
        child.stdout.on("data", (d) => {
            stdout += d;
        });
        child.stderr.on("data", (d) => {
            stderr += d;
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
        child.on("error", reject);
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
        });
        if (opts.onSpawn && child.pid) opts.onSpawn(child.pid);
        child.stdin.end(opts.input ?? "");
    });
}

/**
 * Starts the CLI and returns the child, for tests that signal it mid-run. `input` is all of stdin
 * (null: stdin stays open for the test to write).
 */
export function startCli(args: string[], input: string | null, env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "",
        stderr = "";
    child.stdout.on("data", (d) => {
        stdout += d;
    });
    child.stderr.on("data", (d) => {
        stderr += d;
    });
    if (input !== null) child.stdin.end(input);
    const done = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
    return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/**
 * The CLI failed with exit `code` and exactly one line on stderr: `autoglm: ${pattern}` when it is a
 * string, else a line matching it.
 */
export function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp | string, code = 1): void {
    expect(r.code, r.stderr).toBe(code);
    const lines = r.stderr.trim().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    if (typeof pattern === "string") expect(lines[0]).toBe(`autoglm: ${pattern}`);
    else expect(lines[0]).toMatch(pattern);
}
