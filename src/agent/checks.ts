// The checks before the first step (Open-AutoGLM's check_system_requirements and check_model_api):
// the tool on PATH, the phone(s) connected and chosen, ADB Keyboard installed and enabled, the model
// answering. Each failure is one line that says how to fix it.

import type { Engine } from "../engine/turn.js";
import { ADB_KEYBOARD, ADB_KEYBOARD_APK, listAdbDevices } from "./adb.js";
import type { DeviceType } from "./apps.js";
import type { DeviceInfo } from "./device.js";
import { listHdcDevices } from "./hdc.js";
import { firstLine, runTool, ToolMissingError } from "./tool.js";

export function listDevices(type: DeviceType): Promise<DeviceInfo[]> {
    return type === "hdc" ? listHdcDevices() : listAdbDevices();
}

/** adb version / hdc -v answers. */
export async function checkTool(type: DeviceType): Promise<string | undefined> {
    try {
        const r = await runTool(type, type === "hdc" ? ["-v"] : ["version"], 15_000);
        if (r.code !== 0)
            return `${type} is on PATH but does not run: ${firstLine(r.stderr || r.stdout.toString("utf8")) || `exit code ${r.code}`}`;
        return undefined;
    } catch (e) {
        if (e instanceof ToolMissingError) return e.message;
        return `${type} does not run: ${(e as Error).message}`;
    }
}

const NO_DEVICE: Record<DeviceType, string> = {
    adb: "no Android device is connected: turn on USB debugging (Settings > About phone: tap Build number 7 times; then Developer options > USB debugging), plug the phone in and accept its prompt; adb devices should list it",
    hdc: "no HarmonyOS device is connected: turn on USB debugging in Developer options, plug the phone in and accept its prompt; hdc list targets should list it",
};

function stateProblem(type: DeviceType, d: DeviceInfo): string | undefined {
    if (d.state === "device") return undefined;
    if (d.state === "unauthorized")
        return `device ${d.serial} is unauthorized: unlock it and accept the USB debugging prompt (adb kill-server, then adb devices, shows the prompt again)`;
    if (d.state.startsWith("no permissions"))
        return `device ${d.serial}: ${d.state} (on Linux, add a udev rule for the phone's vendor, or run adb kill-server and adb start-server as your user)`;
    return `device ${d.serial} is ${d.state}: reconnect it${type === "adb" ? " (adb reconnect)" : ""}`;
}

/** The serials to run on: the ones --device names (each must be usable), or the only usable device. */
export async function chooseDevices(type: DeviceType, wanted: string[]): Promise<{ serials: string[]; failures: string[] }> {
    const all = await listDevices(type);
    const failures: string[] = [];
    if (wanted.length) {
        for (const serial of new Set(wanted)) {
            const d = all.find((x) => x.serial === serial);
            if (!d)
                failures.push(
                    `device ${serial} is not connected (${type} sees ${all.length ? all.map((x) => x.serial).join(", ") : "none"})`,
                );
            else {
                const problem = stateProblem(type, d);
                if (problem) failures.push(problem);
            }
        }
        return { serials: failures.length ? [] : [...new Set(wanted)], failures };
    }
    const usable = all.filter((d) => d.state === "device");
    if (usable.length === 1) return { serials: [usable[0]!.serial], failures };
    if (usable.length > 1)
        return {
            serials: [],
            failures: [
                `${usable.length} devices are connected (${usable.map((d) => d.serial).join(", ")}): choose one with --device SERIAL, or repeat --device to run the task on each`,
            ],
        };
    const problems = all.map((d) => stateProblem(type, d)).filter((p): p is string => Boolean(p));
    return { serials: [], failures: problems.length ? problems : [NO_DEVICE[type]] };
}

/** ADB Keyboard in `ime list -s` (enabled), else in `ime list -a -s` (installed only). */
export async function checkAdbKeyboard(serial: string): Promise<string | undefined> {
    const list = async (...flags: string[]) => {
        const r = await runTool("adb", ["-s", serial, "shell", "ime", "list", ...flags], 15_000);
        return `${r.stdout.toString("utf8")}${r.stderr}`;
    };
    const enable = `adb -s ${serial} shell ime enable ${ADB_KEYBOARD}`;
    if ((await list("-s")).includes(ADB_KEYBOARD)) return undefined;
    if ((await list("-a", "-s")).includes(ADB_KEYBOARD)) return `ADB Keyboard is installed on ${serial} but not enabled: ${enable}`;
    return `ADB Keyboard is not installed on ${serial} (the agent types through it): download ${ADB_KEYBOARD_APK}, then adb -s ${serial} install ADBKeyboard.apk && ${enable}`;
}

/** The tool, the devices and (Android) their keyboard; returns the serials to run on and one line per failure. */
export async function checkDevices(type: DeviceType, wanted: string[]): Promise<{ serials: string[]; failures: string[] }> {
    const tool = await checkTool(type);
    if (tool) return { serials: [], failures: [tool] };
    const chosen = await chooseDevices(type, wanted);
    if (chosen.failures.length || type === "hdc") return chosen;
    const keyboard = (await Promise.all(chosen.serials.map((s) => checkAdbKeyboard(s)))).filter((f): f is string => Boolean(f));
    return keyboard.length ? { serials: [], failures: keyboard } : chosen;
}

/** How long the model check waits (a busy server may queue it behind other phones' steps). */
export const CHECK_MODEL_MS = 120_000;

/** Open-AutoGLM's check_model_api: "Hi", at most 5 tokens, temperature 0; any answer will do, within CHECK_MODEL_MS. */
export async function checkModel(engine: Engine, timeoutMs = CHECK_MODEL_MS): Promise<string | undefined> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
        const r = await engine.turn({ messages: [{ role: "user", content: "Hi" }], maxTokens: 5, sampling: { temperature: 0 }, signal });
        if (r.finish === "aborted") throw new Error("cancelled");
        return undefined;
    } catch (e) {
        const why = signal.aborted ? `no answer within ${timeoutMs / 1000} s` : (e as Error).message;
        return `the model does not answer (${engine.info.where}): ${why}`;
    }
}
