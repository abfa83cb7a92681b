// Android through adb, with Open-AutoGLM's commands (phone_agent/adb/*.py), but the screenshot in
// one round trip (`exec-out screencap -p` streams the PNG: no file on the device, no pull), the
// device always named with -s (a second phone plugged in mid-task changes nothing), and a device
// that has gone reported as such instead of a black screenshot.

import { ANDROID_TABLE } from "./apps.js";
import type { Device, DeviceInfo, Screenshot } from "./device.js";
import { fallbackScreenshot, isPng, pngSize } from "./screenshot-image.js";
import { checkResult, DeviceError, DeviceGoneError, firstLine, looksGone, runTool } from "./tool.js";

export const ADB_KEYBOARD = "com.android.adbkeyboard/.AdbIME";
export const ADB_KEYBOARD_APK = "https://github.com/senzhk/ADBKeyBoard/blob/master/ADBKeyboard.apk";

/** `adb devices -l`: every device adb sees, usable or not. */
export async function listAdbDevices(): Promise<DeviceInfo[]> {
    const r = await runTool("adb", ["devices", "-l"], 15_000);
    const text = r.stdout.toString("utf8");
    if (r.code !== 0) throw new DeviceGoneError(`adb devices failed: ${firstLine(r.stderr || text)}`);
    const devices: DeviceInfo[] = [];
    for (const line of text.split("\n")) {
        const parts = line.trim().split(/\s+/);
        if (parts.length < 2 || line.startsWith("List of devices") || line.startsWith("*")) continue;
        // "no permissions (...)" and other states of several words end before the key:value fields.
        const fields = parts.slice(1);
        const firstField = fields.findIndex((f) => /^[a-z_]+:/.test(f));
        const state = (firstField < 0 ? fields : fields.slice(0, firstField)).join(" ");
        const model = fields.find((f) => f.startsWith("model:"))?.slice("model:".length);
        devices.push({ serial: parts[0]!, state, ...(model ? { model } : {}) });
    }
    return devices;
}

/** Open-AutoGLM's swipe duration: the squared distance / 1000, in 1000..2000 ms. */
export function adbSwipeMs(x1: number, y1: number, x2: number, y2: number): number {
    return Math.max(1000, Math.min(Math.trunc(((x1 - x2) ** 2 + (y1 - y2) ** 2) / 1000), 2000));
}

const IME_ID = /^[\w.]+\/[\w.$]+$/;

export class AdbDevice implements Device {
    readonly type = "adb" as const;
    readonly apps = ANDROID_TABLE;

    constructor(readonly serial: string) {}

    private async run(args: string[], timeoutMs?: number) {
        const full = ["-s", this.serial, ...args];
        return checkResult("adb", this.serial, full, await runTool("adb", full, timeoutMs));
    }

    private shell(...args: string[]) {
        return this.run(["shell", ...args]);
    }

    async screenshot(): Promise<Screenshot> {
        const args = ["-s", this.serial, "exec-out", "screencap", "-p"];
        const r = await runTool("adb", args, 10_000);
        if (r.code === 0 && isPng(r.stdout)) return { png: r.stdout, ...pngSize(r.stdout), sensitive: false };
        // exec-out merges the device's stderr into the stream: a secure window's refusal arrives as text.
        const text = `${r.stderr}\n${r.stdout.subarray(0, 4096).toString("utf8")}`;
        if (looksGone(text)) throw new DeviceGoneError(`device ${this.serial} is no longer connected (adb: ${firstLine(text)})`);
        if (text.includes("Status: -1") || text.includes("Failed"))
            return fallbackScreenshot("the screen refused to be captured (a secure window such as a payment or password page)", true);
        return fallbackScreenshot(`screencap gave no image (${firstLine(text) || `exit code ${r.code}`})`, false);
    }

    async currentApp(): Promise<string> {
        const text = (await this.shell("dumpsys", "window")).stdout.toString("utf8");
        if (!text.trim()) throw new DeviceGoneError(`device ${this.serial} gave no output for dumpsys window`);
        for (const line of text.split("\n")) {
            if (!line.includes("mCurrentFocus") && !line.includes("mFocusedApp")) continue;
            const name = this.apps.nameInText(line);
            if (name) return name;
        }
        return "System Home";
    }

    async tap(x: number, y: number) {
        await this.shell("input", "tap", String(x), String(y));
    }

    async doubleTap(x: number, y: number, intervalMs: number) {
        await this.tap(x, y);
        await new Promise((r) => setTimeout(r, intervalMs));
        await this.tap(x, y);
    }

    async longPress(x: number, y: number) {
        await this.shell("input", "swipe", String(x), String(y), String(x), String(y), "3000");
    }

    async swipe(x1: number, y1: number, x2: number, y2: number) {
        await this.shell("input", "swipe", String(x1), String(y1), String(x2), String(y2), String(adbSwipeMs(x1, y1, x2, y2)));
    }

    async back() {
        await this.shell("input", "keyevent", "4");
    }

    async home() {
        await this.shell("input", "keyevent", "KEYCODE_HOME");
    }

    async launch(app: string): Promise<boolean> {
        const pkg = this.apps.packageOf(app);
        if (!pkg) return false;
        await this.shell("monkey", "-p", pkg, "-c", "android.intent.category.LAUNCHER", "1");
        return true;
    }

    /**
     * Reads the input method in use, selects ADB Keyboard if it is another, and sends an empty text
     * to wake it. Returns the one to restore: "" when ADB Keyboard was already active or none was set.
     */
    async switchKeyboard(): Promise<string> {
        const r = await this.shell("settings", "get", "secure", "default_input_method");
        const current = `${r.stdout.toString("utf8")}${r.stderr}`.trim();
        if (!current.includes(ADB_KEYBOARD)) {
            const args = ["-s", this.serial, "shell", "ime", "set", ADB_KEYBOARD];
            const set = await runTool("adb", args);
            const said = `${set.stdout.toString("utf8")}${set.stderr}`;
            // Some phones (MIUI, ColorOS) refuse input-method changes from adb until a second switch is on (Open-AutoGLM #228).
            const refusal = said.split("\n").find((l) => /SecurityException|WRITE_SECURE_SETTINGS/.test(l));
            if (refusal && !looksGone(said))
                throw new DeviceError(
                    `${this.serial} does not let adb switch the input method (${refusal.trim().slice(0, 200)}): turn on Developer options > USB debugging (Security settings), or make ADB Keyboard the default keyboard by hand`,
                );
            checkResult("adb", this.serial, args, set);
            if (/Unknown input method|cannot be selected/.test(said))
                throw new DeviceError(
                    `ADB Keyboard is not enabled on ${this.serial}: adb -s ${this.serial} shell ime enable ${ADB_KEYBOARD}`,
                );
        }
        // adb joins a shell command's words with spaces unquoted: '' is how the device's shell sees an empty text.
        await this.shell("am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg", "''");
        return current.includes(ADB_KEYBOARD) || !IME_ID.test(current) ? "" : current;
    }

    async clearText() {
        await this.shell("am", "broadcast", "-a", "ADB_CLEAR_TEXT");
    }

    async typeText(text: string) {
        await this.shell("am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg", Buffer.from(text, "utf8").toString("base64") || "''");
    }

    async restoreKeyboard(previous: string) {
        if (previous) await this.shell("ime", "set", previous);
    }
}
