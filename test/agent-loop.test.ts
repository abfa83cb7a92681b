// The agent's loop against fake phones (test/helpers/fake-phone.mjs as `adb` and `hdc` on PATH)
// and a scripted Engine: the exact commands each step sends, the coordinate conversion, the input
// method switched and restored around typing, the messages each request carried, the retry of an
// unreadable answer, confirmations, a phone that disappears, and stopping mid-task.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADB_KEYBOARD } from "../src/agent/adb.js";
import { Agent, type AgentEvent, type StepReport } from "../src/agent/agent.js";
import { ActionHandler, type Confirm, type ConfirmRequest, type Decision, toPixels } from "../src/agent/handler.js";
import { HdcDevice } from "../src/agent/hdc.js";
import { AdbDevice } from "../src/agent/adb.js";
import { systemPrompt } from "../src/agent/prompts.js";
import { autoConfirm, refuseConfirm } from "../src/agent/safety.js";
import { blackPng } from "../src/agent/screenshot-image.js";
import { NO_DELAYS, timingFromEnv } from "../src/agent/timing.js";
import { ADB_IME, fakePhones, type FakePhones, type FakeScreen, LATIN_IME } from "./helpers/fake-phone.js";
import { type ScriptItem, ScriptedEngine } from "./helpers/scripted-engine.js";

const DATE = new Date(2026, 0, 5, 9, 30);
const SERIAL = "emulator-5554";
const TASK = "打开微信搜索文件传输助手";

const LAUNCHER = "com.android.launcher3/com.android.launcher3.uioverride.QuickstepLauncher";
const screens: FakeScreen[] = [
    { id: "home", focus: LAUNCHER, keys: { KEYCODE_HOME: "home" } },
    {
        id: "wechat",
        focus: "com.tencent.mm/com.tencent.mm.ui.LauncherUI",
        taps: [{ region: [400, 200, 700, 300], next: "search" }],
        keys: { "4": "home", KEYCODE_HOME: "home" },
    },
    { id: "search", focus: "com.tencent.mm/com.tencent.mm.plugin.fts.ui.FTSMainUI", swipe: "results", keys: { "4": "wechat" } },
    { id: "results", focus: "com.tencent.mm/com.tencent.mm.plugin.fts.ui.FTSMainUI" },
    { id: "pay", focus: "com.eg.android.AlipayGphone/.PayActivity", secure: true },
];

let phones: FakePhones;
let restore: () => void;

beforeAll(async () => {
    phones = await fakePhones([
        { serial: SERIAL, screens, start: "home", launch: { "com.tencent.mm": "wechat" } },
        { serial: "hist-1", screens, start: "wechat" },
        { serial: "small-720", screens: [{ id: "small", width: 720, height: 1600, focus: LAUNCHER }], start: "small" },
        { serial: "secure-1", screens: [screens[4]!], start: "pay" },
        { serial: "goes-away", screens, start: "wechat", launch: { "com.tencent.mm": "wechat" }, goneAfter: "input tap" },
        {
            serial: "harmony-1",
            screens: [
                { id: "h-home", width: 1260, height: 2720, bundle: "com.huawei.hmos.launcher" },
                { id: "h-settings", width: 1260, height: 2720, bundle: "com.huawei.hmos.settings", keys: { Back: "h-home" } },
            ],
            start: "h-home",
            launch: { "com.huawei.hmos.settings": "h-settings" },
        },
    ]);
    restore = phones.install();
});

afterAll(() => restore?.());

/** The commands a phone received since `from`, without the leading -s/-t SERIAL. */
function commandsSince(serial: string, from: number): string[] {
    return phones
        .calls(serial)
        .slice(from)
        .map((argv) => argv.slice(2).join(" "));
}

function agentFor(
    serial: string,
    script: ScriptItem[],
    o: { confirm?: Confirm; maxSteps?: number; device?: "adb" | "hdc"; sleep?: (ms: number) => Promise<void>; strict?: boolean } = {},
) {
    const engine = new ScriptedEngine(script);
    const events: AgentEvent[] = [];
    const device = o.device === "hdc" ? new HdcDevice(serial) : new AdbDevice(serial);
    const agent = new Agent({
        engine,
        device,
        confirm: o.confirm ?? refuseConfirm,
        date: DATE,
        timing: NO_DELAYS,
        maxSteps: o.maxSteps ?? 10,
        strictActions: o.strict ?? false,
        onEvent: (e) => events.push(e),
        ...(o.sleep ? { sleep: o.sleep } : {}),
    });
    const steps = () => events.filter((e): e is { type: "step"; report: StepReport } => e.type === "step").map((e) => e.report);
    return { engine, agent, events, steps };
}

const answer = (thinking: string, action: string) => `<think>${thinking}</think>\n<answer>${action}</answer>`;

describe("a task from the first screenshot to finish", () => {
    it("sends Open-AutoGLM's commands, converts coordinates, types through ADB Keyboard and restores the input method", async () => {
        const from = phones.calls(SERIAL).length;
        const { engine, agent, steps } = agentFor(SERIAL, [
            answer("先打开微信。", 'do(action="Launch", app="微信")'),
            answer("点击搜索框。", 'do(action="Tap", element=[500,100])'),
            // An unescaped quote inside the text (Open-AutoGLM #286) is typed as it is.
            answer("输入联系人。", 'do(action="Type", text="文件传输"助手"")'),
            answer("向上滑动。", 'do(action="Swipe", start=[500,800], end=[500,200])'),
            answer("找到了。", 'finish(message="已找到文件传输助手")'),
        ]);
        const result = await agent.run(TASK);
        expect(result).toEqual({ serial: SERIAL, status: "finished", message: "已找到文件传输助手", steps: 5 });
        const shot = ["exec-out screencap -p", "shell dumpsys window"];
        expect(commandsSince(SERIAL, from)).toEqual([
            ...shot,
            "shell monkey -p com.tencent.mm -c android.intent.category.LAUNCHER 1",
            ...shot,
            "shell input tap 540 240", // [500,100] on 1080x2400: int(500/1000*1080), int(100/1000*2400)
            ...shot,
            "shell settings get secure default_input_method",
            `shell ime set ${ADB_KEYBOARD}`,
            "shell am broadcast -a ADB_INPUT_B64 --es msg ''",
            "shell am broadcast -a ADB_CLEAR_TEXT",
            `shell am broadcast -a ADB_INPUT_B64 --es msg ${Buffer.from('文件传输"助手"').toString("base64")}`,
            `shell ime set ${LATIN_IME}`,
            ...shot,
            "shell input swipe 540 1920 540 480 2000", // 1440 px: 1440²/1000 ms, clamped to 2000
            ...shot,
        ]);
        expect(
            phones
                .calls(SERIAL)
                .slice(from)
                .every((argv) => argv[0] === "-s" && argv[1] === SERIAL),
        ).toBe(true);
        const state = phones.state(SERIAL);
        expect(state.field).toBe('文件传输"助手"');
        expect(state.ime).toBe(LATIN_IME);
        expect(state.screen).toBe("results");
        expect(engine.sessionsOpened).toBe(1);
        expect(engine.sessionsClosed).toBe(1);
        expect(steps().map((s) => [s.step, s.app, s.action?.action, s.outcome?.gesture])).toEqual([
            [1, "System Home", "Launch", undefined],
            [2, "微信", "Tap", { kind: "tap", x: 540, y: 240 }],
            [3, "微信", "Type", undefined],
            [4, "微信", "Swipe", { kind: "swipe", x1: 540, y1: 1920, x2: 540, y2: 480 }],
            [5, "微信", "finish", undefined],
        ]);
    });

    it("each request carried the history as Open-AutoGLM builds it, with Open-AutoGLM's sampling", async () => {
        const { engine, agent } = agentFor("hist-1", [
            answer("返回。", 'do(action="Back")'),
            answer("回到桌面。", 'do(action="Home")'),
            '<think>完成</think><answer>finish(message="done")', // the model stopped on its </answer> token
        ]);
        expect((await agent.run("go home")).status).toBe("finished");
        const [r1, r2, r3] = engine.requests;
        const system = { role: "system", content: systemPrompt("cn", DATE) };
        expect(system.content.startsWith("今天的日期是: 2026年01月05日 星期一\n你是一个智能体分析专家")).toBe(true);
        const image = (id: string) => ({ type: "image", source: { bytes: phones.png(id) } });
        const first = 'go home\n\n{"current_app": "微信"}';
        const later = (app: string) => `** Screen Info **\n\n{"current_app": "${app}"}`;
        expect(r1!.messages).toEqual([system, { role: "user", content: [image("wechat"), { type: "text", text: first }] }]);
        expect(r2!.messages).toEqual([
            system,
            { role: "user", content: [{ type: "text", text: first }] },
            { role: "assistant", content: '<think>返回。</think><answer>do(action="Back")</answer>' },
            { role: "user", content: [image("home"), { type: "text", text: later("System Home") }] },
        ]);
        expect(r3!.messages).toEqual([
            ...r2!.messages!.slice(0, 3),
            { role: "user", content: [{ type: "text", text: later("System Home") }] },
            { role: "assistant", content: '<think>回到桌面。</think><answer>do(action="Home")</answer>' },
            { role: "user", content: [image("home"), { type: "text", text: later("System Home") }] },
        ]);
        for (const r of engine.requests) {
            expect(r.sampling).toEqual({ temperature: 0, topP: 0.85, frequencyPenalty: 0.2 });
            expect(r.maxTokens).toBe(3000);
            expect(r.splitThinking).toBe(false);
            expect(r.grammar).toBeUndefined();
            expect(r.session).toBeDefined();
            expect(r.enableThinking).toBeUndefined();
        }
        expect(new Set(engine.requests.map((r) => r.session)).size).toBe(1);
        // During each action but the last, the session prefilled what the next request starts with.
        expect(engine.prefills).toEqual([r2!.messages!.slice(0, 3), r3!.messages!.slice(0, 5)]);
    });

    it("--strict-actions sends the action grammar with every turn", async () => {
        const { engine, agent } = agentFor("small-720", [answer("ok", 'finish(message="ok")')], { strict: true });
        expect((await agent.run("t")).status).toBe("finished");
        expect(engine.requests[0]!.grammar).toEqual({ gbnf: expect.stringContaining("root ::=") });
    });
});

describe("coordinates", () => {
    it("are int(x/1000*W), int(y/1000*H) of the screenshot the model saw, kept on the screen", async () => {
        expect(toPixels([500, 500], 1080, 2400)).toEqual([540, 1200]);
        expect(toPixels([999, 999], 720, 1600)).toEqual([719, 1598]);
        expect(toPixels([1000, 1000], 720, 1600)).toEqual([719, 1599]);
        expect(toPixels([333, 777], 1080, 2400)).toEqual([359, 1864]); // 359.64 and 1864.8 truncated
        const from = phones.calls("small-720").length;
        const { agent } = agentFor("small-720", [
            answer("a", 'do(action="Tap", element=[999,999])'),
            answer("b", 'do(action="Long Press", element=[250,500])'),
            answer("c", 'do(action="Double Tap", element=[100,100])'),
            answer("d", 'finish(message="ok")'),
        ]);
        expect((await agent.run("t")).status).toBe("finished");
        const sent = commandsSince("small-720", from).filter((c) => c.startsWith("shell input"));
        expect(sent).toEqual([
            "shell input tap 719 1598",
            "shell input swipe 180 800 180 800 3000",
            "shell input tap 72 160",
            "shell input tap 72 160",
        ]);
    });
});

describe("answers that are not an action", () => {
    it("are asked again once with a fresh screenshot, then fail the task with the raw text (never 'finished')", async () => {
        const from = phones.calls("small-720").length;
        const garbage = "[{'Type': 'Type'}]";
        const { engine, agent, steps } = agentFor("small-720", [garbage, `<think>x</think><answer>${garbage}</answer>`]);
        const result = await agent.run("type something");
        expect(result.status).toBe("failed");
        expect(result.message).toContain("not a do(...) or finish(...) action");
        expect(result.message).toContain(garbage);
        expect(result.raw).toBe(`<think>x</think><answer>${garbage}</answer>`);
        expect(commandsSince("small-720", from)).toEqual([
            "exec-out screencap -p",
            "shell dumpsys window",
            "exec-out screencap -p",
            "shell dumpsys window",
        ]);
        // The retry is the same step: same history, a new screenshot, nothing of the unreadable answer kept.
        expect(engine.requests).toHaveLength(2);
        expect(engine.requests[1]!.messages).toHaveLength(2);
        expect(steps().map((s) => [s.step, s.attempt, s.parseError !== undefined])).toEqual([
            [1, 1, true],
            [1, 2, true],
        ]);
    });

    it("one unreadable answer followed by a good one goes on as if it never happened", async () => {
        const { engine, agent } = agentFor("small-720", [
            'do(action="Tap", element=[500,', // cut off
            answer("a", 'do(action="Back")'),
            answer("b", 'finish(message="ok")'),
        ]);
        expect(await agent.run("t")).toMatchObject({ status: "finished", steps: 2 });
        expect(engine.requests[2]!.messages!.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
        expect(engine.requests[2]!.messages![2]!.content).toBe('<think>a</think><answer>do(action="Back")</answer>');
    });

    it("an unknown action or app is reported to the loop and the task goes on, as upstream", async () => {
        const { agent, steps } = agentFor("small-720", [
            answer("a", 'do(action="Scroll", direction="down")'),
            answer("b", 'do(action="Launch", app="NoSuchApp")'),
            answer("c", 'do(action="Interact")'),
            answer("d", 'finish(message="ok")'),
        ]);
        expect((await agent.run("t")).status).toBe("finished");
        expect(steps().map((s) => s.outcome?.message)).toEqual([
            "Unknown action: Scroll",
            "App not found: NoSuchApp",
            "User interaction required",
            undefined,
        ]);
    });

    it("a model error ends the task as an error, not as finished", async () => {
        const { agent } = agentFor("small-720", [new Error("connection reset")]);
        expect(await agent.run("t")).toMatchObject({ status: "error", message: "model error: connection reset" });
    });

    it("max steps", async () => {
        const { agent } = agentFor(
            "small-720",
            [answer("a", 'do(action="Wait", duration="0 seconds")'), answer("b", 'do(action="Wait", duration="0 seconds")')],
            {
                maxSteps: 2,
            },
        );
        expect(await agent.run("t")).toMatchObject({ status: "max_steps", steps: 2 });
    });
});

describe("sensitive actions", () => {
    const asked: ConfirmRequest[] = [];
    const answering =
        (d: Decision): Confirm =>
        async (r) => {
            asked.push(r);
            return d;
        };

    it("without a terminal and without --yes they are refused and the task ends saying so, before anything is tapped", async () => {
        const from = phones.calls("small-720").length;
        const { agent } = agentFor("small-720", [answer("pay", 'do(action="Tap", element=[500,900], message="确认支付")')], {
            confirm: refuseConfirm,
        });
        const r = await agent.run("pay");
        expect(r.status).toBe("refused");
        expect(r.message).toMatch(/refused the sensitive action "确认支付": there is no terminal.*--yes/);
        expect(commandsSince("small-720", from).some((c) => c.includes("input tap"))).toBe(false);
        const t = agentFor("small-720", [answer("login", 'do(action="Take_over", message="请登录")')], { confirm: refuseConfirm });
        expect(await t.agent.run("log in")).toMatchObject({ status: "refused" });
    });

    it("--yes goes ahead; a no ends the task as upstream does", async () => {
        const from = phones.calls("small-720").length;
        const yes = agentFor(
            "small-720",
            [answer("pay", 'do(action="Tap", element=[500,900], message="确认支付")'), answer("ok", 'finish(message="paid")')],
            {
                confirm: autoConfirm,
            },
        );
        expect((await yes.agent.run("pay")).status).toBe("finished");
        expect(commandsSince("small-720", from)).toContain("shell input tap 360 1440");
        const no = agentFor("small-720", [answer("pay", 'do(action="Tap", element=[500,900], message="确认支付")')], {
            confirm: answering("no"),
        });
        expect(await no.agent.run("pay")).toMatchObject({ status: "cancelled", message: "User cancelled sensitive operation" });
        expect(asked.at(-1)).toEqual({ kind: "sensitive", message: "确认支付", serial: "small-720", signal: expect.any(AbortSignal) });
        const over = agentFor(
            "small-720",
            [answer("login", 'do(action="Take_over", message="请登录")'), answer("ok", 'finish(message="in")')],
            {
                confirm: answering("yes"),
            },
        );
        expect((await over.agent.run("log in")).status).toBe("finished");
        expect(asked.at(-1)).toEqual({ kind: "takeover", message: "请登录", serial: "small-720", signal: expect.any(AbortSignal) });
    });
});

describe("the phone", () => {
    it("a secure screen is sent as upstream's black 1080x2400 image, marked sensitive", async () => {
        const { engine, agent, steps } = agentFor("secure-1", [answer("黑屏", 'finish(message="cannot see")')]);
        expect((await agent.run("pay")).status).toBe("finished");
        const sent = (engine.requests[0]!.messages![1]!.content as any[])[0];
        expect(sent.source.bytes.equals(await blackPng())).toBe(true);
        expect(steps()[0]!.screenshot).toMatchObject({ width: 1080, height: 2400, sensitive: true });
        expect(steps()[0]!.app).toBe("System Home");
    });

    it("a phone that disappears mid-task ends it with a clear error", async () => {
        const { agent } = agentFor("goes-away", [
            answer("tap", 'do(action="Tap", element=[500,100])'),
            answer("never", 'do(action="Back")'),
        ]);
        const r = await agent.run("t");
        expect(r).toMatchObject({ status: "error", steps: 2 });
        expect(r.message).toBe("device goes-away is no longer connected (adb: adb: device 'goes-away' not found)");
    });

    it("HarmonyOS through hdc: JPEG screenshots as PNG, aa for apps, uitest for gestures and typing", async () => {
        const from = phones.calls("harmony-1").length;
        const { engine, agent, steps } = agentFor(
            "harmony-1",
            [
                answer("open", 'do(action="Launch", app="设置")'),
                answer("tap", 'do(action="Tap", element=[500,500])'),
                answer("type", 'do(action="Type", text="Wi-Fi \\"home\\"\n$HOME")'), // a real newline: Enter between lines
                answer("back", 'do(action="Back")'),
                answer("done", 'finish(message="ok")'),
            ],
            { device: "hdc" },
        );
        expect((await agent.run("open settings")).status).toBe("finished");
        const shot = [
            "shell screenshot /data/local/tmp/tmp_screenshot.jpeg",
            expect.stringMatching(/^file recv \/data\/local\/tmp\/tmp_screenshot.jpeg \S+\.jpeg$/),
            "shell aa dump -l",
        ];
        expect(commandsSince("harmony-1", from)).toEqual([
            ...shot,
            "shell aa start -b com.huawei.hmos.settings -a com.huawei.hmos.settings.MainAbility",
            ...shot,
            "shell uitest uiInput click 630 1360",
            ...shot,
            "shell uitest uiInput keyEvent 2072 2017",
            "shell uitest uiInput keyEvent 2055",
            'shell uitest uiInput text "Wi-Fi \\"home\\""',
            "shell uitest uiInput keyEvent 2054",
            'shell uitest uiInput text "\\$HOME"',
            ...shot,
            "shell uitest uiInput keyEvent Back",
            ...shot,
        ]);
        expect(phones.state("harmony-1").field).toBe('Wi-Fi "home"\n$HOME');
        expect(steps().map((s) => s.app)).toEqual(["com.huawei.hmos.launcher", "设置", "设置", "设置", "com.huawei.hmos.launcher"]);
        const png = (engine.requests[0]!.messages![1]!.content as any[])[0].source.bytes as Buffer;
        expect(png.subarray(1, 4).toString()).toBe("PNG");
        expect(steps()[0]!.screenshot).toMatchObject({ width: 1260, height: 2720, sensitive: false });
    });
});

describe("stopping (Ctrl-C)", () => {
    it("during typing: the typing ends (input method restored), then the task stops", async () => {
        const from = phones.calls(SERIAL).length;
        let agent!: Agent;
        let waits = 0;
        const made = agentFor(SERIAL, [answer("type", 'do(action="Type", text="abc")'), answer("never", 'do(action="Back")')], {
            // The first wait of the typing comes right after the input method was switched.
            sleep: async () => {
                if (waits++ === 0) agent.stop();
            },
        });
        agent = made.agent;
        const r = await agent.run("t");
        expect(r).toMatchObject({ status: "interrupted", steps: 1 });
        const sent = commandsSince(SERIAL, from);
        expect(sent.slice(-5)).toEqual([
            `shell ime set ${ADB_KEYBOARD}`,
            "shell am broadcast -a ADB_INPUT_B64 --es msg ''",
            "shell am broadcast -a ADB_CLEAR_TEXT",
            `shell am broadcast -a ADB_INPUT_B64 --es msg ${Buffer.from("abc").toString("base64")}`,
            `shell ime set ${LATIN_IME}`,
        ]);
        expect(made.engine.requests).toHaveLength(1);
        expect(phones.state(SERIAL).ime).toBe(LATIN_IME);
    });

    it("while the model thinks: the turn is cancelled and nothing is sent to the phone", async () => {
        const from = phones.calls("small-720").length;
        let agent!: Agent;
        const made = agentFor("small-720", [{ raw: answer("tap", 'do(action="Tap", element=[1,1])'), onStart: () => agent.stop() }]);
        agent = made.agent;
        expect(await agent.run("t")).toMatchObject({ status: "interrupted" });
        expect(made.engine.requests[0]!.signal?.aborted).toBe(true);
        expect(commandsSince("small-720", from)).toEqual(["exec-out screencap -p", "shell dumpsys window"]);
        expect(made.engine.sessionsClosed).toBe(1);
    });
});

describe("waits", () => {
    it("follow the PHONE_AGENT_*_DELAY variables, in upstream's places", async () => {
        const timing = timingFromEnv({
            PHONE_AGENT_TAP_DELAY: "0.25",
            PHONE_AGENT_KEYBOARD_SWITCH_DELAY: "0",
            PHONE_AGENT_TEXT_INPUT_DELAY: "2",
        });
        expect(timing).toMatchObject({
            tapMs: 250,
            keyboardSwitchMs: 0,
            textClearMs: 1000,
            textInputMs: 2000,
            keyboardRestoreMs: 1000,
            doubleTapIntervalMs: 100,
        });
        expect(() => timingFromEnv({ PHONE_AGENT_SWIPE_DELAY: "soon" })).toThrow(
            'PHONE_AGENT_SWIPE_DELAY must be a number of seconds >= 0, got "soon"',
        );
        const waits: number[] = [];
        const handler = new ActionHandler(new AdbDevice("small-720"), timing, autoConfirm, async (ms) => {
            waits.push(ms);
        });
        await handler.execute({ action: "Tap", element: [1, 1] }, 720, 1600);
        await handler.execute({ action: "Type", text: "x" }, 720, 1600);
        await handler.execute({ action: "Wait", duration: "2.5 seconds" }, 720, 1600);
        await handler.execute({ action: "Wait", duration: "a while" }, 720, 1600);
        expect(waits).toEqual([250, 0, 1000, 2000, 1000, 2500, 1000]);
    });

    it("a phone that refuses the input-method switch (#228): the typing fails with the fix, the task goes on", async () => {
        const { fakePhones: make } = await import("./helpers/fake-phone.js");
        const p = await make([{ serial: "miui", screens: [{ id: "miui", focus: LAUNCHER }], start: "miui", imeSetRefused: true }]);
        const undo = p.install();
        try {
            const outcome = await new ActionHandler(new AdbDevice("miui"), NO_DELAYS, autoConfirm).execute(
                { action: "Type", text: "hi" },
                1080,
                2400,
            );
            expect(outcome).toEqual({
                ok: false,
                message:
                    "Action failed: miui does not let adb switch the input method (java.lang.SecurityException: Setting default input method requires android.permission.WRITE_SECURE_SETTINGS): turn on Developer options > USB debugging (Security settings), or make ADB Keyboard the default keyboard by hand",
            });
            expect(p.state("miui").ime).toBe(LATIN_IME);
        } finally {
            undo();
        }
    });

    it("ADB Keyboard already active: nothing to switch and nothing to restore", async () => {
        const { fakePhones: make } = await import("./helpers/fake-phone.js");
        const p = await make([{ serial: "kb", screens: [{ id: "kb", focus: LAUNCHER }], start: "kb", ime: ADB_IME }]);
        const undo = p.install();
        try {
            await new ActionHandler(new AdbDevice("kb"), NO_DELAYS, autoConfirm).execute({ action: "Type", text: "hi" }, 1080, 2400);
            expect(p.calls("kb").map((a) => a.slice(2).join(" "))).toEqual([
                "shell settings get secure default_input_method",
                "shell am broadcast -a ADB_INPUT_B64 --es msg ''",
                "shell am broadcast -a ADB_CLEAR_TEXT",
                `shell am broadcast -a ADB_INPUT_B64 --es msg ${Buffer.from("hi").toString("base64")}`,
            ]);
            expect(p.state("kb").field).toBe("hi");
        } finally {
            undo();
        }
    });
});
