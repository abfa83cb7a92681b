// A whole `autoglm agent` run in process (src/agent/run.ts) against fake phones and a scripted
// Engine: the checks before the first step (one line each), several phones at once with their own
// histories and sessions, --json, the terminal lines, --record with its replay page in a real
// browser, confirmation refused without a terminal, Ctrl-C, and the exit codes.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PassThrough } from "node:stream";
import { chromium } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { ADB_KEYBOARD } from "../src/agent/adb.js";
import { type RunOptions, runAgent } from "../src/agent/run.js";
import { stopOnSignals, terminalConfirm } from "../src/agent/safety.js";
import { NO_DELAYS } from "../src/agent/timing.js";
import type { Engine } from "../src/engine/turn.js";
import { BROWSER_ARGS, CHROMIUM, haveBrowser } from "./helpers/browser.js";
import { fakePhones, type FakePhoneSpec, LATIN_IME } from "./helpers/fake-phone.js";
import { type ScriptItem, ScriptedEngine } from "./helpers/scripted-engine.js";
import { tempDir } from "./helpers/tmp.js";

const LAUNCHER = "com.android.launcher3/com.android.launcher3.uioverride.QuickstepLauncher";
const WECHAT = "com.tencent.mm/com.tencent.mm.ui.LauncherUI";
const answer = (thinking: string, action: string) => `<think>${thinking}</think><answer>${action}</answer>`;

function stream() {
    const s = new PassThrough();
    let text = "";
    s.on("data", (d) => {
        text += d;
    });
    return { s, text: () => text };
}

/** stdin as a pipe (no terminal), or as what readline reads a person's answers from. */
function input(isTTY: boolean) {
    const s = new PassThrough() as PassThrough & { isTTY: boolean };
    s.isTTY = isTTY;
    return s;
}

let undo: (() => void) | undefined;
afterEach(() => {
    undo?.();
    undo = undefined;
});

async function phones(specs: FakePhoneSpec[]) {
    const p = await fakePhones(specs);
    undo = p.install();
    return p;
}

const phone = (serial: string, o: Partial<FakePhoneSpec> = {}): FakePhoneSpec => ({
    serial,
    screens: [
        { id: `${serial}-home`, focus: LAUNCHER, keys: { "4": `${serial}-home` } },
        { id: `${serial}-wechat`, focus: WECHAT, keys: { "4": `${serial}-home` } },
    ],
    start: `${serial}-home`,
    launch: { "com.tencent.mm": `${serial}-wechat` },
    ...o,
});

function run(o: Partial<RunOptions> & { engine?: Engine; script?: ScriptItem[] | { perSession: ScriptItem[][] } }) {
    const out = stream();
    const err = stream();
    let opened = 0;
    const engine = o.engine ?? new ScriptedEngine(o.script ?? []);
    const done = runAgent({
        task: "打开微信",
        deviceType: "adb",
        devices: [],
        lang: "cn",
        maxSteps: 10,
        strictActions: false,
        yes: false,
        json: false,
        timing: NO_DELAYS,
        color: false,
        stdin: input(false) as unknown as NodeJS.ReadStream,
        stdout: out.s,
        stderr: err.s,
        openEngine: async () => {
            opened++;
            return engine;
        },
        date: new Date(2026, 0, 5),
        ...o,
    });
    return { done, out: out.text, err: err.text, engine, opened: () => opened };
}

describe("checks before the first step", () => {
    it("adb not on PATH", async () => {
        const empty = tempDir("no-adb");
        const before = process.env.PATH;
        process.env.PATH = empty;
        try {
            const r = run({});
            const outcome = await r.done;
            expect(outcome.failures).toEqual([
                expect.stringMatching(/^adb is not on PATH: install Android platform-tools .* and put adb on PATH$/),
            ]);
            expect(outcome.exitCode).toBe(1);
            expect(r.opened()).toBe(0);
        } finally {
            process.env.PATH = before;
        }
    });

    it("no phone, several phones, an unknown or unauthorized one: one line each saying what to do", async () => {
        await phones([]);
        expect((await run({}).done).failures).toEqual([expect.stringMatching(/^no Android device is connected: turn on USB debugging/)]);
        undo?.();
        await phones([phone("A"), phone("B"), phone("C", { state: "unauthorized" })]);
        expect((await run({}).done).failures).toEqual([
            "2 devices are connected (A, B): choose one with --device SERIAL, or repeat --device to run the task on each",
        ]);
        const r = run({ devices: ["Z", "C"] });
        expect((await r.done).failures).toEqual([
            "device Z is not connected (adb sees A, B, C)",
            "device C is unauthorized: unlock it and accept the USB debugging prompt (adb kill-server, then adb devices, shows the prompt again)",
        ]);
        expect(r.opened()).toBe(0);
    });

    it("ADB Keyboard missing or not enabled: the command that fixes it", async () => {
        await phones([
            phone("no-kb", { enabledImes: [LATIN_IME], installedImes: [LATIN_IME] }),
            phone("off-kb", { enabledImes: [LATIN_IME], installedImes: [LATIN_IME, ADB_KEYBOARD] }),
        ]);
        const r = await run({ devices: ["no-kb", "off-kb"] }).done;
        expect(r.failures).toEqual([
            `ADB Keyboard is not installed on no-kb (the agent types through it): download https://github.com/senzhk/ADBKeyBoard/blob/master/ADBKeyboard.apk, then adb -s no-kb install ADBKeyboard.apk && adb -s no-kb shell ime enable ${ADB_KEYBOARD}`,
            `ADB Keyboard is installed on off-kb but not enabled: adb -s off-kb shell ime enable ${ADB_KEYBOARD}`,
        ]);
    });

    it("the model not answering (Open-AutoGLM's check: Hi, 5 tokens, temperature 0)", async () => {
        await phones([phone("A")]);
        const engine = new ScriptedEngine([], { checkError: new Error("connect ECONNREFUSED 127.0.0.1:8000") });
        const r = run({ engine });
        expect((await r.done).failures).toEqual(["the model does not answer (local): connect ECONNREFUSED 127.0.0.1:8000"]);
        expect(engine.checks[0]).toMatchObject({ messages: [{ role: "user", content: "Hi" }], maxTokens: 5, sampling: { temperature: 0 } });
        expect(engine.requests).toHaveLength(0);
        expect(engine.disposed).toBe(true);
    });
});

describe("a run", () => {
    it("at a terminal: one line per step with its timings, the thinking dimmed under it, then the result", async () => {
        await phones([phone("A")]);
        const r = run({
            color: true,
            script: [answer("先打开微信。", 'do(action="Launch", app="微信")'), answer("已经打开。", 'finish(message="微信已打开")')],
        });
        const outcome = await r.done;
        expect(outcome).toMatchObject({ failures: [], exitCode: 0 });
        const lines = r.out().split("\n");
        expect(lines[0]).toMatch(
            /^step 1 \| System Home \| Launch 微信 \| screenshot [\d.]+ m?s · encode 30 ms · prefill 40 ms · decode 20 ms · action [\d.]+ m?s$/,
        );
        expect(lines[1]).toBe("\x1b[2m    先打开微信。\x1b[22m");
        expect(lines[2]).toMatch(/^step 2 \| 微信 \| finish "微信已打开" \| screenshot .* prefill 40 ms \(800\/1020 tokens cached\)/);
        expect(lines[4]).toBe("finished after 2 steps: 微信已打开");
        expect(r.err()).toBe("");
    });

    it("--json: one object per step and one per result", async () => {
        await phones([phone("A")]);
        const r = run({ json: true, script: [answer("t1", 'do(action="Tap", element=[500,500])'), answer("t2", 'finish(message="ok")')] });
        expect((await r.done).exitCode).toBe(0);
        const objects = r
            .out()
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        expect(objects.map((o) => o.type)).toEqual(["step", "step", "result"]);
        expect(objects[0]).toMatchObject({
            device: "A",
            step: 1,
            attempt: 1,
            app: "System Home",
            thinking: "t1",
            answer: 'do(action="Tap", element=[500,500])',
            action: { action: "Tap", element: [500, 500] },
            parse_error: null,
            ok: true,
            gesture: { kind: "tap", x: 540, y: 1200 },
            screenshot: { width: 1080, height: 2400, sensitive: false, fallback: null },
            timings_ms: { encode: 30, prefill: 40, decode: 20 },
            tokens: { prompt: 1010, cached: 0 },
        });
        expect(objects[2]).toEqual({ type: "result", device: "A", status: "finished", message: "ok", steps: 2 });
    });

    it("several phones: one task each, concurrently, each with its own history and engine session", async () => {
        const p = await phones([phone("A"), phone("B", { start: "B-wechat" })]);
        const engine = new ScriptedEngine({
            perSession: [
                [
                    answer("A1", 'do(action="Launch", app="微信")'),
                    answer("A2", 'do(action="Back")'),
                    answer("A3", 'finish(message="A done")'),
                ],
                [answer("B1", 'do(action="Back")'), answer("B2", 'finish(message="B done")')],
            ],
        });
        const r = run({ engine, devices: ["A", "B"] });
        const outcome = await r.done;
        expect(outcome.results.map((x) => [x.serial, x.status, x.message, x.steps])).toEqual([
            ["A", "finished", "A done", 3],
            ["B", "finished", "B done", 2],
        ]);
        expect(outcome.exitCode).toBe(0);
        expect(engine.sessionsOpened).toBe(2);
        expect(engine.sessionsClosed).toBe(2);
        // Each session's requests carry only its own phone's screens and answers.
        const bySession = (k: number) => engine.requests.filter((_, i) => engine.requestSessions[i] === k);
        const texts = (k: number) => bySession(k).map((q) => q.messages!.filter((m) => m.role === "assistant").map((m) => m.content));
        expect(texts(0).at(-1)).toEqual([
            '<think>A1</think><answer>do(action="Launch", app="微信")</answer>',
            '<think>A2</think><answer>do(action="Back")</answer>',
        ]);
        expect(texts(1).at(-1)).toEqual(['<think>B1</think><answer>do(action="Back")</answer>']);
        const firstImage = (k: number) => (bySession(k)[0]!.messages![1]!.content as any[])[0].source.bytes as Buffer;
        expect(firstImage(0).equals(p.png("A-home"))).toBe(true);
        expect(firstImage(1).equals(p.png("B-wechat"))).toBe(true);
        expect(p.calls("A").some((c) => c.join(" ").includes("monkey"))).toBe(true);
        expect(p.calls("B").some((c) => c.join(" ").includes("monkey"))).toBe(false);
        // Lines say which phone they are about.
        expect(r.out()).toMatch(/^\[A\] step 1 \| System Home \| Launch 微信/m);
        expect(r.out()).toMatch(/^\[B\] finished after 2 steps: B done$/m);
    });

    it("a sensitive action without a terminal and without --yes: refused, the task ends saying so, exit 1", async () => {
        const p = await phones([phone("A")]);
        const r = run({ script: [answer("pay", 'do(action="Tap", element=[500,900], message="确认支付")')] });
        const outcome = await r.done;
        expect(outcome.results[0]).toMatchObject({ status: "refused" });
        expect(outcome.exitCode).toBe(1);
        expect(r.out()).toMatch(/refused after 1 step: refused the sensitive action "确认支付": there is no terminal to confirm it at/);
        expect(p.calls("A").some((c) => c.includes("tap"))).toBe(false);
    });

    it("a sensitive action at a terminal asks, and the answer decides", async () => {
        const p = await phones([phone("A")]);
        const stdin = input(true);
        const err = new PassThrough();
        let asked = "";
        err.on("data", (d) => {
            const before = asked;
            asked += d;
            if (!/Allow it\? \[y\/N\]/.test(before) && /Allow it\? \[y\/N\]/.test(asked)) stdin.write("y\n");
        });
        const r = run({
            stdin: stdin as unknown as NodeJS.ReadStream,
            stderr: err,
            script: [answer("pay", 'do(action="Tap", element=[500,900], message="确认支付")'), answer("ok", 'finish(message="paid")')],
        });
        expect((await r.done).exitCode).toBe(0);
        expect(asked).toContain('The model wants to do a sensitive action: "确认支付". Allow it? [y/N] ');
        expect(p.calls("A").map((c) => c.join(" "))).toContain("-s A shell input tap 540 2160");
    });

    it("Ctrl-C (SIGINT) while the model thinks: the turn is cancelled, nothing more is sent, exit 130", async () => {
        await phones([phone("A")]);
        const listeners = process.listenerCount("SIGINT");
        const engine = new ScriptedEngine([
            { raw: answer("back", 'do(action="Back")'), onStart: () => process.emit("SIGINT") },
            answer("never", 'do(action="Home")'),
        ]);
        const err = stream();
        const r = run({ engine, stderr: err.s });
        const outcome = await r.done;
        expect(outcome.results[0]).toMatchObject({ status: "interrupted", steps: 1 });
        expect(outcome.exitCode).toBe(130);
        expect(err.text()).toBe("autoglm: stopping after the action under way (the phone is never left half-typed)...\n");
        expect(process.listenerCount("SIGINT")).toBe(listeners);
        expect(engine.remaining).toBe(1);
    });
});

describe("--record", () => {
    it("refuses a folder that is not empty, before any check", async () => {
        const dir = tempDir("record-full");
        writeFileSync(join(dir, "old.txt"), "x");
        await expect(run({ record: dir }).done).rejects.toThrow(`--record ${dir}: the folder is not empty (a record holds one run)`);
    });

    it("keeps every screenshot with its gesture, the raw output, the action and timings, and a page that replays the run", async () => {
        const p = await phones([phone("A")]);
        const dir = join(tempDir("record"), "run");
        const hostile = "</script><script>document.title='owned'</script><img src=x onerror=alert(1)>";
        const r = run({
            record: dir,
            script: [
                answer(`点击。${hostile}`, 'do(action="Tap", element=[500,500])'),
                "[{'Type': 'Type'}]",
                answer("滑动", 'do(action="Swipe", start=[500,800], end=[500,200])'),
                answer("完成", 'finish(message="done")'),
            ],
        });
        expect((await r.done).exitCode).toBe(0);
        expect(readdirSync(join(dir, "A")).sort()).toEqual([
            "result.json",
            "step-001.json",
            "step-001.png",
            "step-002-unreadable-1.json",
            "step-002-unreadable-1.png",
            "step-002.json",
            "step-002.png",
            "step-003.json",
            "step-003.png",
        ]);
        const step1 = JSON.parse(readFileSync(join(dir, "A", "step-001.json"), "utf8"));
        expect(step1).toMatchObject({
            raw: answer(`点击。${hostile}`, 'do(action="Tap", element=[500,500])'),
            action: { action: "Tap" },
            timings_ms: { prefill: 40 },
        });
        expect(JSON.parse(readFileSync(join(dir, "A", "step-002-unreadable-1.json"), "utf8"))).toMatchObject({
            raw: "[{'Type': 'Type'}]",
            action: null,
        });
        expect(JSON.parse(readFileSync(join(dir, "A", "result.json"), "utf8"))).toMatchObject({ status: "finished", steps: 3 });
        // The tap is drawn on the screenshot: it differs from what the phone served around (540,1200) only.
        const sharp = (await import("sharp")).default;
        const drawn = await sharp(readFileSync(join(dir, "A", "step-001.png")))
            .removeAlpha()
            .raw()
            .toBuffer({ resolveWithObject: true });
        const plain = await sharp(p.png("A-home")).removeAlpha().raw().toBuffer();
        const at = (b: Buffer, x: number, y: number) => [...b.subarray((y * 1080 + x) * 3, (y * 1080 + x) * 3 + 3)];
        expect(drawn.info).toMatchObject({ width: 1080, height: 2400, channels: 3 });
        expect(at(drawn.data, 540, 1200)).not.toEqual(at(plain, 540, 1200));
        expect(at(drawn.data, 100, 100)).toEqual(at(plain, 100, 100));
        const html = readFileSync(join(dir, "index.html"), "utf8");
        expect(html).not.toContain("</script><script>document.title");
        expect(html).not.toMatch(/src="(https?:)?\/\//);
        if (!haveBrowser) return;
        const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
        try {
            const page = await browser.newPage();
            const requests: string[] = [];
            page.on("request", (q) => {
                if (!q.url().startsWith("data:") && !q.url().startsWith("file:")) requests.push(q.url());
            });
            const errors: string[] = [];
            page.on("pageerror", (e) => errors.push(e.message));
            await page.goto(pathToFileURL(join(dir, "index.html")).href);
            expect(await page.title()).toBe("autoglm agent: 打开微信");
            expect(await page.textContent("#pos")).toBe("1 / 4");
            expect(await page.textContent("#action")).toBe("Tap [500,500]");
            expect(await page.textContent("#thinking")).toBe(`点击。${hostile}`);
            expect(await page.locator("img").count()).toBe(1);
            expect(await page.getAttribute("#shot", "src")).toMatch(/^data:image\/jpeg;base64,/);
            await page.click("#next");
            expect(await page.textContent("#action")).toBe("unreadable answer: the answer is not a do(...) or finish(...) action");
            await page.keyboard.press("ArrowRight");
            await page.keyboard.press("ArrowRight");
            expect(await page.textContent("#pos")).toBe("4 / 4");
            expect(await page.textContent("#action")).toBe('finish "done"');
            expect(await page.textContent("#result")).toBe("finished after 3 steps: done");
            expect(errors).toEqual([]);
            expect(requests).toEqual([]);
        } finally {
            await browser.close();
        }
    });
});

describe("safety helpers", () => {
    it("terminal questions come one at a time; Enter goes on with a take-over, n stops it", async () => {
        const stdin = input(false);
        const out = stream();
        const confirm = terminalConfirm({ input: stdin, output: out.s, several: true });
        const a = confirm({ kind: "sensitive", message: "pay", serial: "A" });
        const b = confirm({ kind: "takeover", message: "log in", serial: "B" });
        stdin.write("\n");
        expect(await a).toBe("no");
        stdin.write("\n");
        expect(await b).toBe("yes");
        const c = confirm({ kind: "takeover", message: "log in", serial: "B" });
        stdin.write("n\n");
        expect(await c).toBe("no");
        expect(out.text()).toContain('[A] The model wants to do a sensitive action: "pay". Allow it? [y/N] ');
        expect(out.text()).toContain(
            '[B] The model asks you to take over: "log in". Do it on the phone, then press Enter to go on (n to stop the task): ',
        );
    });

    it("a second Ctrl-C says the action is still finishing instead of killing the process", () => {
        const lines: string[] = [];
        let stops = 0;
        const off = stopOnSignals(
            () => stops++,
            (l) => lines.push(l),
        );
        process.emit("SIGINT");
        process.emit("SIGTERM");
        off();
        expect(stops).toBe(2);
        expect(lines).toEqual([
            "stopping after the action under way (the phone is never left half-typed)...",
            "still finishing the action under way; it ends within its own time limit",
        ]);
    });
});
