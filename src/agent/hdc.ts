// HarmonyOS through hdc, with Open-AutoGLM's commands (phone_agent/hdc/*.py): uitest gestures, aa
// for apps, a JPEG screenshot on the device fetched with `file recv` (hdc has no exec-out) and
// turned into PNG, text typed by uitest itself (no input method to switch).

import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { harmonyAbility, HARMONYOS_TABLE } from "./apps.js";
import type { Device, DeviceInfo, Screenshot } from "./device.js";
import { fallbackScreenshot, toPng } from "./screenshot-image.js";
import { checkResult, DeviceGoneError, firstLine, looksGone, runTool } from "./tool.js";

const REMOTE_SHOT = "/data/local/tmp/tmp_screenshot.jpeg";

/** `hdc list targets`: one serial a line, "[Empty]" for none. */
export async function listHdcDevices(): Promise<DeviceInfo[]> {
    const r = await runTool("hdc", ["list", "targets"], 15_000);
    const text = r.stdout.toString("utf8");
    if (r.code !== 0) throw new DeviceGoneError(`hdc list targets failed: ${firstLine(r.stderr || text)}`);
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && l !== "[Empty]" && !l.startsWith("[Fail]"))
        .map((serial) => ({ serial, state: "device" }));
}

/** Open-AutoGLM's HarmonyOS swipe duration: the squared distance / 1000, in 500..1000 ms. */
export function hdcSwipeMs(x1: number, y1: number, x2: number, y2: number): number {
    return Math.max(500, Math.min(Math.trunc(((x1 - x2) ** 2 + (y1 - y2) ** 2) / 1000), 1000));
}

/** One argument for the device's shell: hdc passes the words on unquoted, so the text is quoted here. */
function shellQuoted(text: string): string {
    return `"${text.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export class HdcDevice implements Device {
    readonly type = "hdc" as const;
    readonly apps = HARMONYOS_TABLE;

    constructor(readonly serial: string) {}

    private async run(args: string[], timeoutMs?: number) {
        const full = ["-t", this.serial, ...args];
        return checkResult("hdc", this.serial, full, await runTool("hdc", full, timeoutMs));
    }

    private text(r: { stdout: Buffer; stderr: string }) {
        return `${r.stdout.toString("utf8")}${r.stderr}`;
    }

    private uitest(...args: string[]) {
        return this.run(["shell", "uitest", "uiInput", ...args]);
    }

    async screenshot(): Promise<Screenshot> {
        // As upstream: the output, not the exit code, says whether the capture worked.
        const capture = async (args: string[]) => {
            const text = this.text(await runTool("hdc", ["-t", this.serial, "shell", ...args], 10_000));
            if (looksGone(text)) throw new DeviceGoneError(`device ${this.serial} is no longer connected (hdc: ${firstLine(text)})`);
            return text;
        };
        let out = await capture(["screenshot", REMOTE_SHOT]);
        if (/fail|error|not found/i.test(out)) {
            out = await capture(["snapshot_display", "-f", REMOTE_SHOT]);
            if (/fail|error/i.test(out)) return fallbackScreenshot(`the screen refused to be captured (${firstLine(out)})`, true);
        }
        const local = join(tmpdir(), `autoglm-screenshot-${randomUUID()}.jpeg`);
        try {
            await this.run(["file", "recv", REMOTE_SHOT, local], 10_000);
            let bytes: Buffer;
            try {
                bytes = await readFile(local);
            } catch {
                return fallbackScreenshot("hdc file recv brought no screenshot", false);
            }
            return { ...(await toPng(bytes)), sensitive: false };
        } finally {
            await rm(local, { force: true });
        }
    }

    /** The bundle of the mission `aa dump -l` marks FOREGROUND, by its table name when it has one. */
    async currentApp(): Promise<string> {
        const text = (await this.run(["shell", "aa", "dump", "-l"])).stdout.toString("utf8");
        if (!text.trim()) throw new DeviceGoneError(`device ${this.serial} gave no output for aa dump -l`);
        let bundle: string | undefined;
        for (const line of text.split("\n")) {
            if (line.includes("app name [")) bundle = /\[([^\]]+)\]/.exec(line)?.[1] ?? bundle;
            if (line.toLowerCase().includes("state #foreground") && bundle) return this.apps.nameOfPackage(bundle) ?? bundle;
            if (line.includes("Mission ID")) bundle = undefined;
        }
        return "System Home";
    }

    async tap(x: number, y: number) {
        await this.uitest("click", String(x), String(y));
    }

    async doubleTap(x: number, y: number) {
        await this.uitest("doubleClick", String(x), String(y));
    }

    async longPress(x: number, y: number) {
        await this.uitest("longClick", String(x), String(y));
    }

    async swipe(x1: number, y1: number, x2: number, y2: number) {
        await this.uitest("swipe", String(x1), String(y1), String(x2), String(y2), String(hdcSwipeMs(x1, y1, x2, y2)));
    }

    async back() {
        await this.uitest("keyEvent", "Back");
    }

    async home() {
        await this.uitest("keyEvent", "Home");
    }

    async launch(app: string): Promise<boolean> {
        const bundle = this.apps.packageOf(app);
        if (!bundle) return false;
        await this.run(["shell", "aa", "start", "-b", bundle, "-a", harmonyAbility(bundle)]);
        return true;
    }

    /** uitest types into the focused field itself: there is no input method to switch. */
    async switchKeyboard(): Promise<string> {
        return "";
    }

    /** Select all (Ctrl 2072 + A 2017), then delete (2055). */
    async clearText() {
        await this.uitest("keyEvent", "2072", "2017");
        await this.uitest("keyEvent", "2055");
    }

    /** Line by line, Enter (2054) between lines. */
    async typeText(text: string) {
        const lines = text.split("\n");
        for (let i = 0; i < lines.length; i++) {
            if (lines[i]) await this.uitest("text", shellQuoted(lines[i]!));
            if (i < lines.length - 1) await this.uitest("keyEvent", "2054");
        }
    }

    async restoreKeyboard() {}
}
