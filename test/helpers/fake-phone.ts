// Phones for the agent's tests, without a phone: screens made with sharp, a state machine per phone
// in a temporary folder, and `adb` / `hdc` shims (running fake-phone.mjs) in a bin folder to put
// first on PATH, so the agent spawns them exactly as it spawns the real tools.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { tempDir } from "./tmp.js";

const SCRIPT = fileURLToPath(new URL("./fake-phone.mjs", import.meta.url));

export const ADB_IME = "com.android.adbkeyboard/.AdbIME";
export const LATIN_IME = "com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME";

export interface FakeScreen {
    id: string;
    width?: number;
    height?: number;
    /** The focused window (dumpsys window), e.g. "com.tencent.mm/com.tencent.mm.ui.LauncherUI". */
    focus?: string;
    /** HarmonyOS: the foreground bundle (aa dump -l). */
    bundle?: string;
    /** A window that refuses screenshots (FLAG_SECURE). */
    secure?: boolean;
    /** Pixel regions [x1, y1, x2, y2] (inclusive) that lead to another screen when tapped. */
    taps?: { region: [number, number, number, number]; next: string }[];
    keys?: Record<string, string>;
    swipe?: string;
    longPress?: string;
}

export interface FakePhoneSpec {
    serial: string;
    state?: string;
    model?: string;
    screens: FakeScreen[];
    start: string;
    /** Package (bundle) -> the screen a launch of it shows. */
    launch?: Record<string, string>;
    ime?: string;
    enabledImes?: string[];
    installedImes?: string[];
    /** The phone disappears after the first command whose argv contains this text. */
    goneAfter?: string;
    /** `ime set` fails as on phones that want "USB debugging (Security settings)" (Open-AutoGLM #228). */
    imeSetRefused?: boolean;
}

export interface FakePhones {
    dir: string;
    bin: string;
    /** PATH with the shims first. */
    path: string;
    env: Record<string, string>;
    /** Every argv one phone received (after -s/-t SERIAL), in order. */
    calls(serial: string): string[][];
    /** Every invocation of the tools, tool name first. */
    allCalls(): string[][];
    state(serial: string): any;
    /** The PNG a screen serves. */
    png(id: string): Buffer;
    /** Makes the shims the `adb` and `hdc` this process spawns; returns the function that undoes it. */
    install(): () => void;
}

const COLORS = [
    [30, 120, 220],
    [220, 60, 60],
    [40, 170, 90],
    [200, 160, 30],
    [120, 60, 200],
    [20, 20, 20],
];

async function writeScreen(dir: string, s: FakeScreen, i: number) {
    const width = s.width ?? 1080;
    const height = s.height ?? 2400;
    const [r, g, b] = COLORS[i % COLORS.length]!;
    // A block at a position of its own, so that every screen's pixels differ.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect x="${(i * 97) % (width - 100)}" y="${(i * 211) % (height - 100)}" width="100" height="100" fill="white"/></svg>`;
    const base = sharp({ create: { width, height, channels: 3, background: { r, g, b } } }).composite([{ input: Buffer.from(svg) }]);
    const png = join(dir, `${s.id}.png`);
    const jpeg = join(dir, `${s.id}.jpg`);
    await base.clone().png().toFile(png);
    await base.clone().jpeg({ quality: 90 }).toFile(jpeg);
    return { png, jpeg };
}

export async function fakePhones(specs: FakePhoneSpec[]): Promise<FakePhones> {
    const dir = tempDir("fake-phone");
    const bin = join(dir, "bin");
    mkdirSync(bin);
    for (const tool of ["adb", "hdc"]) {
        const shim = join(bin, tool);
        writeFileSync(shim, `#!/bin/sh\nexec '${process.execPath}' '${SCRIPT}' ${tool} "$@"\n`);
        chmodSync(shim, 0o755);
    }
    const files = new Map<string, string>();
    let n = 0;
    for (const spec of specs) {
        const screens: Record<string, unknown> = {};
        for (const s of spec.screens) {
            const written = await writeScreen(dir, s, n++);
            files.set(s.id, written.png);
            screens[s.id] = { ...s, ...written };
        }
        const state = {
            screen: spec.start,
            screens,
            launch: spec.launch ?? {},
            ime: spec.ime ?? LATIN_IME,
            enabledImes: spec.enabledImes ?? [LATIN_IME, ADB_IME],
            installedImes: spec.installedImes ?? spec.enabledImes ?? [LATIN_IME, ADB_IME],
            field: "",
            ...(spec.goneAfter ? { goneAfter: spec.goneAfter } : {}),
            ...(spec.imeSetRefused ? { imeSetRefused: true } : {}),
        };
        writeFileSync(join(dir, `${spec.serial.replace(/[^A-Za-z0-9._-]/g, "_")}.json`), JSON.stringify(state));
    }
    writeFileSync(
        join(dir, "devices.json"),
        JSON.stringify(specs.map((s) => ({ serial: s.serial, state: s.state ?? "device", model: s.model }))),
    );
    writeFileSync(join(dir, "calls.log"), "");
    const path = `${bin}:${process.env.PATH ?? ""}`;
    const lines = (file: string) => {
        try {
            return readFileSync(join(dir, file), "utf8")
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l) as string[]);
        } catch {
            return [];
        }
    };
    const logName = (serial: string) => `${serial.replace(/[^A-Za-z0-9._-]/g, "_")}.log`;
    return {
        dir,
        bin,
        path,
        env: { PATH: path, FAKE_PHONE_DIR: dir },
        calls: (serial) => lines(logName(serial)),
        allCalls: () => lines("calls.log"),
        state: (serial) => JSON.parse(readFileSync(join(dir, `${serial.replace(/[^A-Za-z0-9._-]/g, "_")}.json`), "utf8")),
        png: (id) => readFileSync(files.get(id)!),
        install() {
            const before = { PATH: process.env.PATH, FAKE_PHONE_DIR: process.env.FAKE_PHONE_DIR };
            process.env.PATH = path;
            process.env.FAKE_PHONE_DIR = dir;
            return () => {
                process.env.PATH = before.PATH;
                if (before.FAKE_PHONE_DIR === undefined) delete process.env.FAKE_PHONE_DIR;
                else process.env.FAKE_PHONE_DIR = before.FAKE_PHONE_DIR;
            };
        },
    };
}
