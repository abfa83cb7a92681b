// Runs the phone's command-line tool (adb or hdc, found on PATH) once per command, as Open-AutoGLM
// does, with a time limit, and says in one line what went wrong: the tool missing, the device gone,
// or a command that did not answer.

import { spawn } from "node:child_process";
import { UserError } from "../core/errors.js";

export type ToolName = "adb" | "hdc";

/** A device problem the task cannot go on with; its message is one line for the user. */
export class DeviceError extends UserError {
    override name = "DeviceError";
}

/** The device is no longer there (unplugged, rebooted, its authorisation revoked). */
export class DeviceGoneError extends DeviceError {
    override name = "DeviceGoneError";
}

export class ToolMissingError extends UserError {
    override name = "ToolMissingError";
}

export interface ToolResult {
    code: number;
    stdout: Buffer;
    stderr: string;
}

export const INSTALL_HINT: Record<ToolName, string> = {
    adb: "install Android platform-tools (macOS: brew install android-platform-tools; Debian/Ubuntu: sudo apt install adb; Windows: https://developer.android.com/tools/releases/platform-tools) and put adb on PATH",
    hdc: "install the HarmonyOS SDK's toolchains (https://developer.huawei.com/consumer/en/download/) and put hdc on PATH",
};

/** What adb and hdc print when the device they were pointed at has gone. */
const GONE = [
    /device '[^']*' not found/i,
    /no devices\/emulators found/i,
    /device offline/i,
    /device unauthorized/i,
    /device still authorizing/i,
    /device not found/i,
    /Device not founded or connected/i,
    /\[Fail\].*(not connected|connect-key|not found)/i,
];

export function looksGone(text: string): boolean {
    return GONE.some((r) => r.test(text));
}

/** One line of a tool's output for an error message. */
export function firstLine(text: string): string {
    return (
        text
            .split("\n")
            .map((l) => l.trim())
            .find(Boolean) ?? ""
    ).slice(0, 300);
}

/**
 * Runs `tool args...` and returns its exit code and output. Never throws for a non-zero exit (the
 * caller decides what that means); throws ToolMissingError when the tool is not on PATH and
 * DeviceError when it does not finish within `timeoutMs`.
 */
export function runTool(tool: ToolName, args: string[], timeoutMs = 30_000): Promise<ToolResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(tool, args, { stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
        const out: Buffer[] = [];
        let err = "";
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, timeoutMs);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => {
            if (err.length < 64 * 1024) err += d.toString("utf8");
        });
        child.on("error", (e: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            reject(e.code === "ENOENT" ? new ToolMissingError(`${tool} is not on PATH: ${INSTALL_HINT[tool]}`) : e);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            if (timedOut) reject(new DeviceError(`${tool} ${args.join(" ")} did not finish within ${timeoutMs / 1000} s`));
            else resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err });
        });
    });
}

/** Throws DeviceGoneError when a failed command says the device has gone, DeviceError for other failures. */
export function checkResult(tool: ToolName, serial: string, args: string[], r: ToolResult): ToolResult {
    const text = `${r.stderr}\n${r.stdout.length < 4096 ? r.stdout.toString("utf8") : ""}`;
    // adb exits 1 when the device has gone; hdc can say "[Fail]..." and exit 0.
    if ((r.code !== 0 || tool === "hdc") && looksGone(text))
        throw new DeviceGoneError(`device ${serial} is no longer connected (${tool}: ${firstLine(text)})`);
    if (r.code !== 0) throw new DeviceError(`${tool} ${args.join(" ")} failed on ${serial}: ${firstLine(text) || `exit code ${r.code}`}`);
    return r;
}
