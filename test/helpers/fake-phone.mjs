// A fake `adb` / `hdc` for the agent's tests (run as `node fake-phone.mjs adb|hdc ARGS...` by the
// shims test/helpers/fake-phone.ts puts first on PATH). Each phone is a state machine of screens
// (PNG and JPEG files made by the test): taps inside a region, key events, swipes and launches move
// it to another screen; the focused text field takes what ADB Keyboard receives while it is the
// input method. Every argv is appended to <serial>.log (JSON lines) and calls.log in FAKE_PHONE_DIR.
// It answers only the commands the agent sends, with the output real adb/hdc give; anything else
// fails loudly so that a test sees it.
import { appendFileSync, copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.FAKE_PHONE_DIR;
if (!dir) {
    process.stderr.write("fake-phone: FAKE_PHONE_DIR is not set\n");
    process.exit(2);
}
const [tool, ...argv] = process.argv.slice(2);
const ADB_IME = "com.android.adbkeyboard/.AdbIME";

const out = (s) => process.stdout.write(s);
const fail = (s, code = 1) => {
    process.stderr.write(s.endsWith("\n") ? s : `${s}\n`);
    process.exit(code);
};
const devicesFile = join(dir, "devices.json");
const devices = () => JSON.parse(readFileSync(devicesFile, "utf8"));
const stateFile = (serial) => join(dir, `${serial.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
const load = (serial) => JSON.parse(readFileSync(stateFile(serial), "utf8"));
const save = (serial, s) => writeFileSync(stateFile(serial), JSON.stringify(s, null, 1));

appendFileSync(join(dir, "calls.log"), `${JSON.stringify([tool, ...argv])}\n`);

// ---- which device ----
let args = argv;
let serial;
const flag = tool === "hdc" ? "-t" : "-s";
if (args[0] === flag) {
    serial = args[1];
    args = args.slice(2);
}

if (tool === "adb" && args[0] === "version") {
    out("Android Debug Bridge version 1.0.41\nVersion 35.0.2-fake\nInstalled as fake-phone.mjs\n");
    process.exit(0);
}
if (tool === "hdc" && args[0] === "-v") {
    out("Ver: 3.1.0e\n");
    process.exit(0);
}
if (tool === "adb" && args[0] === "devices") {
    const long = args[1] === "-l";
    let text = "List of devices attached\n";
    for (const d of devices())
        text += long
            ? `${d.serial.padEnd(22)} ${d.state}${d.model ? ` product:fake model:${d.model} device:fake transport_id:1` : ""}\n`
            : `${d.serial}\t${d.state}\n`;
    out(`${text}\n`);
    process.exit(0);
}
if (tool === "hdc" && args[0] === "list" && args[1] === "targets") {
    const list = devices().filter((d) => d.state === "device");
    out(list.length ? `${list.map((d) => d.serial).join("\n")}\n` : "[Empty]\n\n");
    process.exit(0);
}

const all = devices();
if (serial === undefined) {
    const usable = all.filter((d) => d.state === "device");
    if (usable.length === 0)
        fail(tool === "hdc" ? "[Fail]Device not founded or connected" : "adb: no devices/emulators found", tool === "hdc" ? 0 : 1);
    if (usable.length > 1) fail("adb: more than one device/emulator");
    serial = usable[0].serial;
}
const device = all.find((d) => d.serial === serial);
if (!device) fail(tool === "hdc" ? "[Fail]Device not founded or connected" : `adb: device '${serial}' not found`, tool === "hdc" ? 0 : 1);
if (device.state !== "device") fail(tool === "hdc" ? "[Fail]Device not founded or connected" : `adb: device ${device.state}.`);
appendFileSync(join(dir, `${serial.replace(/[^A-Za-z0-9._-]/g, "_")}.log`), `${JSON.stringify(argv)}\n`);

const s = load(serial);
const screen = () => s.screens[s.screen];
const go = (next) => {
    if (next === undefined) return;
    if (!s.screens[next]) fail(`fake-phone: no screen ${next}`, 3);
    s.screen = next;
};
const tapAt = (x, y) => {
    const hit = (screen().taps ?? []).find(({ region: [x1, y1, x2, y2] }) => x >= x1 && x <= x2 && y >= y1 && y <= y2);
    if (hit) go(hit.next);
};
const typed = (text) => {
    s.field = (s.field ?? "") + text;
    s.typed = [...(s.typed ?? []), text];
};

function adbShell(cmd) {
    const line = cmd.join(" ");
    if (line === "dumpsys window") {
        const focus = screen().focus;
        // Packages appear in lines other than the focus lines too; only mCurrentFocus/mFocusedApp count.
        out(
            "WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)\n  Display: mDisplayId=0 rng=1080x2400\n" +
                "  Window #1 Window{7a1b2c3 u0 com.tencent.mm/com.tencent.mm.ui.LauncherUI}:\n" +
                `    mCurrentFocus=Window{3b0f2ad u0 ${focus}}\n` +
                `    mFocusedApp=ActivityRecord{8f1c6d9 u0 ${focus} t42}\n`,
        );
        return;
    }
    if (line === "settings get secure default_input_method") return out(`${s.ime ?? "null"}\n`);
    if (line === "ime list -s") return out(`${(s.enabledImes ?? []).join("\n")}\n`);
    if (line === "ime list -a -s") return out(`${(s.installedImes ?? []).join("\n")}\n`);
    if (cmd[0] === "ime" && cmd[1] === "set" && cmd.length === 3) {
        if (s.imeSetRefused)
            fail(
                "Exception occurred while executing 'set':\njava.lang.SecurityException: Setting default input method requires android.permission.WRITE_SECURE_SETTINGS\n\tat com.android.server.inputmethod.InputMethodManagerService.setInputMethod",
                255,
            );
        if (!(s.enabledImes ?? []).includes(cmd[2])) return out(`Unknown input method ${cmd[2]} cannot be selected for user #0\n`);
        s.ime = cmd[2];
        return out(`Input method ${cmd[2]} selected for user #0\n`);
    }
    if (cmd[0] === "am" && cmd[1] === "broadcast" && cmd[2] === "-a") {
        const action = cmd[3];
        if (action === "ADB_INPUT_B64" && cmd[4] === "--es" && cmd[5] === "msg" && cmd.length === 7) {
            if (s.ime === ADB_IME) typed(cmd[6] === "''" ? "" : Buffer.from(cmd[6], "base64").toString("utf8"));
        } else if (action === "ADB_CLEAR_TEXT" && cmd.length === 4) {
            if (s.ime === ADB_IME) s.field = "";
        } else fail(`fake-phone: unsupported broadcast ${line}`, 3);
        return out(
            `Broadcasting: Intent { act=${action} flg=0x400000${cmd.length > 4 ? " (has extras)" : ""} }\nBroadcast completed: result=0\n`,
        );
    }
    if (cmd[0] === "input" && cmd[1] === "tap" && cmd.length === 4) return tapAt(Number(cmd[2]), Number(cmd[3]));
    if (cmd[0] === "input" && cmd[1] === "swipe" && cmd.length === 7) {
        const [x1, y1, x2, y2] = cmd.slice(2, 6).map(Number);
        if (x1 === x2 && y1 === y2) return go(screen().longPress);
        return go(screen().swipe);
    }
    if (cmd[0] === "input" && cmd[1] === "keyevent" && cmd.length === 3) return go(screen().keys?.[cmd[2]]);
    if (cmd[0] === "monkey" && cmd[1] === "-p" && cmd[3] === "-c" && cmd[4] === "android.intent.category.LAUNCHER" && cmd[5] === "1") {
        const next = s.launch?.[cmd[2]];
        if (next === undefined) return out("** No activities found to run, monkey aborted.\n");
        go(next);
        return out(
            "  bash arg: -p\n  bash arg: -c\n  bash arg: android.intent.category.LAUNCHER\n  bash arg: 1\nEvents injected: 1\n## Network stats: elapsed time=20ms\n",
        );
    }
    fail(`fake-phone: unsupported adb shell command: ${line}`, 3);
}

function adb() {
    if (args[0] === "exec-out" && args[1] === "screencap" && args[2] === "-p" && args.length === 3) {
        // exec-out merges the device's stderr into the stream, so a secure window's refusal is text here.
        if (screen().secure) return out("Status: -1\n");
        return process.stdout.write(readFileSync(screen().png));
    }
    if (args[0] === "shell" && args.length > 1) return adbShell(args.slice(1));
    fail(`fake-phone: unsupported adb command: ${args.join(" ")}`, 3);
}

function hdc() {
    const cmd = args[0] === "shell" ? args.slice(1) : args;
    const line = cmd.join(" ");
    if (args[0] === "shell" && (cmd[0] === "screenshot" || (cmd[0] === "snapshot_display" && cmd[1] === "-f"))) {
        if (screen().secure) return out("[Fail]fail to capture the screen\n");
        s.files = { ...s.files, [cmd[cmd.length - 1]]: s.screen };
        return out(`ScreenShot saved to ${cmd[cmd.length - 1]}\n`);
    }
    if (args[0] === "file" && args[1] === "recv" && args.length === 4) {
        const id = s.files?.[args[2]];
        if (id === undefined) return out(`[Fail]Error opening file: no such file or directory, path:${args[2]}\n`);
        copyFileSync(s.screens[id].jpeg, args[3]);
        return out("FileTransfer finish, Size:1024, File count = 1, time:3ms rate:341.33kB/s\n");
    }
    if (line === "aa dump -l") {
        const bundle = screen().bundle;
        out(
            "User ID #100\n  current mission lists:{\n" +
                "    Mission ID #12  mission name #[#com.huawei.hmos.settings:entry:MainAbility]\n      app name [com.huawei.hmos.settings]\n      state #BACKGROUND\n" +
                (bundle
                    ? `    Mission ID #139  mission name #[#${bundle}:entry:EntryAbility]\n      app name [${bundle}]\n      bundle name [${bundle}]\n      ability type [PAGE]\n      state #FOREGROUND  start time [1]\n`
                    : "") +
                "  }\n",
        );
        return;
    }
    if (cmd[0] === "uitest" && cmd[1] === "uiInput") {
        const [verb, ...rest] = cmd.slice(2);
        if ((verb === "click" || verb === "doubleClick") && rest.length === 2) return tapAt(Number(rest[0]), Number(rest[1]));
        if (verb === "longClick" && rest.length === 2) return go(screen().longPress);
        if (verb === "swipe" && rest.length === 5) return go(screen().swipe);
        if (verb === "keyEvent") {
            if (rest.join(" ") === "2072 2017") s.selected = true;
            else if (rest.join(" ") === "2055") {
                if (s.selected) s.field = "";
                s.selected = false;
            } else if (rest.join(" ") === "2054") typed("\n");
            else go(screen().keys?.[rest[0]]);
            return;
        }
        if (verb === "text" && rest.length === 1) {
            const m = /^"((?:[^"\\]|\\.)*)"$/.exec(rest[0]);
            if (!m) fail(`fake-phone: uitest text wants one quoted argument, got ${rest[0]}`, 3);
            return typed(m[1].replace(/\\(.)/g, "$1"));
        }
    }
    if (cmd[0] === "aa" && cmd[1] === "start" && cmd[2] === "-b" && cmd[4] === "-a" && cmd.length === 6) {
        const next = s.launch?.[cmd[3]];
        if (next === undefined) return out(`error: failed to start ability. bundle ${cmd[3]} not found\n`);
        go(next);
        return out("start ability successfully.\n");
    }
    fail(`fake-phone: unsupported hdc command: ${args.join(" ")}`, 3);
}

if (tool === "hdc") hdc();
else adb();
// A phone that is unplugged by this command: later commands find no device.
if (s.goneAfter && argv.join(" ").includes(s.goneAfter)) {
    writeFileSync(devicesFile, JSON.stringify(all.filter((d) => d.serial !== serial)));
    delete s.goneAfter;
}
if (existsSync(stateFile(serial))) save(serial, s);
