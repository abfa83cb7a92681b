// `autoglm agent` as a person runs it (the built CLI as a child process, fake phones on PATH):
// --list-apps and --list-devices, the checks' one-line failures, bad flags and variables (a task run
// end to end is in agent-e2e.test.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { fakePhones, type FakePhones, LATIN_IME } from "./helpers/fake-phone.js";
import { tempDir } from "./helpers/tmp.js";

const LAUNCHER = "com.android.launcher3/.Launcher";
let one: FakePhones;
let none: FakePhones;
let noKeyboard: FakePhones;

beforeAll(async () => {
    one = await fakePhones([{ serial: "R5CT1234", model: "SM_S918B", screens: [{ id: "cli-home", focus: LAUNCHER }], start: "cli-home" }]);
    none = await fakePhones([]);
    noKeyboard = await fakePhones([
        { serial: "K1", screens: [{ id: "cli-k", focus: LAUNCHER }], start: "cli-k", enabledImes: [LATIN_IME], installedImes: [LATIN_IME] },
    ]);
});

const agent = (args: string[], phones?: FakePhones, env: Record<string, string> = {}) =>
    runCli(["agent", ...args], { env: { ...(phones?.env ?? {}), ...env } });

describe("autoglm agent", () => {
    it("--list-apps: Open-AutoGLM's names with their packages, for Android or HarmonyOS", async () => {
        const r = await agent(["--list-apps"]);
        expect(r.code).toBe(0);
        expect(r.stdout.split("\n")[0]).toMatch(/^app\s+package$/);
        expect(r.stdout).toMatch(/^微信\s+com\.tencent\.mm$/m);
        expect(r.stdout).toMatch(/^Settings\s+com\.android\.settings$/m);
        const hdc = await agent(["--list-apps", "--device-type", "hdc", "--json"]);
        const apps = JSON.parse(hdc.stdout);
        expect(apps).toHaveLength(115);
        expect(apps).toContainEqual({ name: "设置", package: "com.huawei.hmos.settings" });
    });

    it("--list-devices: what adb sees, or a line saying nothing is connected", async () => {
        const r = await agent(["--list-devices"], one);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^R5CT1234\s+device\s+SM_S918B$/m);
        expect(JSON.parse((await agent(["--list-devices", "--json"], one)).stdout)).toEqual([
            { serial: "R5CT1234", state: "device", model: "SM_S918B" },
        ]);
        const empty = await agent(["--list-devices"], none);
        expect(empty.stdout).toBe("no Android device is connected\n");
        const hdc = await agent(["--list-devices", "--device-type", "hdc"], one);
        expect(hdc.stdout).toMatch(/^R5CT1234\s+device\s*$/m);
    });

    it("adb missing from PATH: one line and exit 1", async () => {
        const r = await agent(["--list-devices"], undefined, { PATH: tempDir("empty-path") });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^autoglm: adb is not on PATH: install Android platform-tools .*\n$/);
    });

    it("a failed check is one line saying how to fix it; nothing is loaded", async () => {
        const r = await agent(["open settings"], none);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^autoglm: no Android device is connected: turn on USB debugging .*adb devices should list it\n$/);
        const k = await agent(["open settings"], noKeyboard);
        expect(k.code).toBe(1);
        expect(k.stderr).toBe(
            "autoglm: ADB Keyboard is not installed on K1 (the agent types through it): download https://github.com/senzhk/ADBKeyBoard/blob/master/ADBKeyboard.apk, then adb -s K1 install ADBKeyboard.apk && adb -s K1 shell ime enable com.android.adbkeyboard/.AdbIME\n",
        );
        expect(noKeyboard.calls("K1").map((c) => c.slice(2).join(" "))).toEqual(["shell ime list -s", "shell ime list -a -s"]);
    });

    it("bad input: no task, a bad flag value, a bad delay variable, a record folder in use", async () => {
        expect((await agent([], one)).stderr).toBe('autoglm: give the task: autoglm agent "open Settings and turn on Wi-Fi"\n');
        const ios = await agent(["t", "--device-type", "ios"]);
        expect(ios.code).toBe(2);
        expect(ios.stderr).toMatch(/Allowed choices are adb, hdc/);
        expect((await agent(["t", "--max-steps", "0"])).stderr).toMatch(/--max-steps must be a positive integer, got "0"/);
        expect((await agent(["t", "--max-tokens", "lots"])).stderr).toMatch(/--max-tokens must be a positive integer, got "lots"/);
        const url = await agent(["t", "--url", "file:///etc/passwd"], one);
        expect(url.code).toBe(1);
        expect(url.stderr).toBe('autoglm: --url must be an http:// or https:// address, got "file:///etc/passwd"\n');
        const delay = await agent(["t"], one, { PHONE_AGENT_TAP_DELAY: "fast" });
        expect(delay.code).toBe(1);
        expect(delay.stderr).toBe('autoglm: PHONE_AGENT_TAP_DELAY must be a number of seconds >= 0, got "fast"\n');
        const dir = tempDir("cli-record");
        writeFileSync(join(dir, "x"), "");
        expect((await agent(["t", "--record", dir], one)).stderr).toBe(
            `autoglm: --record ${dir}: the folder is not empty (a record holds one run)\n`,
        );
        expect((await agent(["t", "--url", "http://x/v1", "--mmproj", "m.gguf"], one)).stderr).toBe(
            "autoglm: --mmproj applies to a local model; with --url the server at http://x/v1 decides it\n",
        );
    });

    it("--help lists the flags of the issue", async () => {
        const r = await runCli(["agent", "--help"]);
        for (const flag of [
            "--url",
            "--api-key",
            "--model",
            "--mmproj",
            "--device <serial>",
            "--device-type",
            "--lang",
            "--max-steps",
            "--yes",
            "--record",
            "--json",
            "--list-devices",
            "--list-apps",
            "--strict-actions",
        ])
            expect(r.stdout).toContain(flag);
        expect(r.stdout).toContain("PHONE_AGENT_");
    });
});
