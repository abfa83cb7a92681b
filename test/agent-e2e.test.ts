// `autoglm agent` end to end, as a person runs it: the real CLI as a child process, fake phones on
// PATH (test/helpers/fake-phone.ts), and a model: a scripted OpenAI-compatible server for --url that
// replays raw model outputs (the failure shapes of Open-AutoGLM's issues included) and records what
// each request carried, or the demo model in process (no HTTP). A terminal (tmux) for the questions
// a sensitive action asks and for Ctrl-C.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { ADB_IME, fakePhones, type FakePhones, LATIN_IME } from "./helpers/fake-phone.js";
import { type ScriptedOpenAI, type ScriptedReply, startScriptedOpenAI } from "./helpers/scripted-openai.js";
import { tempDir } from "./helpers/tmp.js";
import { type RunningServer, startServer } from "./helpers/server.js";
import { startTty, type Tty } from "./helpers/tty.js";

const LAUNCHER = "com.android.launcher3/.Launcher";
const SETTINGS = "com.android.settings/.Settings";
const NO_WAITS = Object.fromEntries(
    ["TAP", "SWIPE", "LAUNCH", "BACK", "HOME", "DOUBLE_TAP", "LONG_PRESS", "TEXT_INPUT", "KEYBOARD_SWITCH", "TEXT_CLEAR"].map((k) => [
        `PHONE_AGENT_${k}_DELAY`,
        "0",
    ]),
);

let servers: ScriptedOpenAI[] = [];
let ttys: Tty[] = [];
afterEach(async () => {
    for (const t of ttys) t.close();
    ttys = [];
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
});

/** A server that answers the agent's check ("Hi", as Open-AutoGLM's check_model_api) and then `script`. */
async function scripted(script: ScriptedReply[]): Promise<ScriptedOpenAI> {
    const s = await startScriptedOpenAI(["Hello", ...script]);
    servers.push(s);
    return s;
}

/** A phone on its home screen whose Settings app opens on launch; a tap on the top half opens Wi-Fi. */
const phone = (serial: string) => ({
    serial,
    model: "Pixel_8",
    screens: [
        { id: `${serial}-home`, focus: LAUNCHER },
        {
            id: `${serial}-settings`,
            focus: SETTINGS,
            taps: [{ region: [0, 0, 1079, 1199] as [number, number, number, number], next: `${serial}-wifi` }],
        },
        { id: `${serial}-wifi`, focus: "com.android.settings/.wifi.WifiSettings" },
    ],
    start: `${serial}-home`,
    launch: { "com.android.settings": `${serial}-settings` },
});

const agent = (args: string[], phones: FakePhones, env: Record<string, string> = {}, timeoutMs = 120_000) =>
    runCli(["agent", ...args], { env: { ...phones.env, ...NO_WAITS, ...env }, timeoutMs });

const jsonLines = (stdout: string) =>
    stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));

/** What a phone was asked to do, leaving out the screenshots and window queries every step makes. */
const actions = (phones: FakePhones, serial: string) =>
    phones
        .calls(serial)
        .map((c) => c.slice(2).join(" "))
        .filter((c) => !/^(exec-out screencap -p|shell dumpsys window|shell ime list)/.test(c));

describe("autoglm agent --url (a scripted OpenAI-compatible server)", () => {
    let phones: FakePhones;
    beforeEach(async () => {
        phones = await fakePhones([phone("P1")]);
    });

    it("runs the task to finish through Open-AutoGLM's requests, forgiving the answer shapes of its issues", async () => {
        const server = await scripted([
            '<think>The home screen. Open Settings.</think>\n<answer>do(action="Launch", app="Settings")</answer>',
            // #59/#60: GLM's box tokens around the action.
            '<think>Settings is open; Wi-Fi is at the top.</think><answer><|begin_of_box|>do(action="Tap", element=[500,250])<|end_of_box|></answer>',
            // #376: quotes inside the text, not escaped.
            '<think>Search for the network.</think><answer>do(action="Type", text="my "home" net")</answer>',
            // #347: no <answer>, a trailing </answer>.
            '<think>Done.</think>finish(message="Wi-Fi settings are open")</answer>',
        ]);
        const r = await agent(["open the Wi-Fi settings", "--url", server.url, "--json", "--lang", "en"], phones);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/^engine http:\/\/127\.0\.0\.1:\d+\/v1 \| model autoglm-phone-9b \|/m);
        const lines = jsonLines(r.stdout);
        expect(lines.map((l) => l.type)).toEqual(["step", "step", "step", "step", "result"]);
        expect(lines.slice(0, 4).map((l) => l.action)).toEqual([
            { action: "Launch", app: "Settings" },
            { action: "Tap", element: [500, 250] },
            { action: "Type", text: 'my "home" net' },
            { action: "finish", message: "Wi-Fi settings are open" },
        ]);
        // The app as upstream names it: the first entry of its table whose package is in focus.
        expect(lines.slice(0, 3).map((l) => l.app)).toEqual(["System Home", "AndroidSystemSettings", "AndroidSystemSettings"]);
        expect(lines[4]).toMatchObject({ type: "result", device: "P1", status: "finished", message: "Wi-Fi settings are open", steps: 4 });

        // The phone: Open-AutoGLM's commands, 0-999 coordinates scaled to the 1080x2400 screen, typing
        // through ADB Keyboard with the input method switched and restored.
        expect(actions(phones, "P1")).toEqual([
            "shell monkey -p com.android.settings -c android.intent.category.LAUNCHER 1",
            "shell input tap 540 600",
            "shell settings get secure default_input_method",
            `shell ime set ${ADB_IME}`,
            "shell am broadcast -a ADB_INPUT_B64 --es msg ''",
            "shell am broadcast -a ADB_CLEAR_TEXT",
            `shell am broadcast -a ADB_INPUT_B64 --es msg ${Buffer.from('my "home" net').toString("base64")}`,
            `shell ime set ${LATIN_IME}`,
        ]);

        // The requests: Open-AutoGLM's sampling, streamed, the newest screenshot only (image before
        // text), earlier user turns as text, assistant turns rebuilt as <think>..</think><answer>..</answer>.
        expect(server.bodies).toHaveLength(5); // the check ("Hi"), then four steps
        expect(server.bodies[0]).toMatchObject({ messages: [{ role: "user", content: "Hi" }], max_tokens: 5 });
        for (const body of server.bodies.slice(1)) {
            expect(body).toMatchObject({
                model: "autoglm-phone-9b",
                stream: true,
                temperature: 0,
                top_p: 0.85,
                frequency_penalty: 0.2,
                max_tokens: 3000,
            });
            expect(body).not.toHaveProperty("grammar");
        }
        const last = server.bodies[4].messages;
        expect(last.map((m: { role: string }) => m.role)).toEqual([
            "system",
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
        ]);
        expect(last[0].content).toMatch(/^The current date: /);
        expect(last[1].content).toEqual([{ type: "text", text: 'open the Wi-Fi settings\n\n{"current_app": "System Home"}' }]);
        expect(last[2].content).toBe('<think>The home screen. Open Settings.</think><answer>do(action="Launch", app="Settings")</answer>');
        expect(last[4].content).toBe(
            '<think>Settings is open; Wi-Fi is at the top.</think><answer>do(action="Tap", element=[500,250])</answer>',
        );
        expect(last[7].content.map((p: { type: string }) => p.type)).toEqual(["image_url", "text"]);
        expect(last[7].content[0].image_url.url).toMatch(/^data:image\/png;base64,/);
        expect(last[7].content[1].text).toBe('** Screen Info **\n\n{"current_app": "AndroidSystemSettings"}');
        expect(
            last
                .slice(1, 7)
                .every(
                    (m: { content: unknown }) =>
                        typeof m.content === "string" || (m.content as { type: string }[]).every((p) => p.type === "text"),
                ),
        ).toBe(true);
    });

    it("an answer that is no action is asked again once, then fails the task with the raw text: never 'finished'", async () => {
        const server = await scripted(["<think>hmm</think><answer>I would tap the button</answer>", "<think>still</think>tap it please"]);
        const r = await agent(["open settings", "--url", server.url], phones);
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/^step 1 \| System Home \| unreadable answer: .*; asking again \|/m);
        expect(r.stdout).toMatch(/^step 1 \(again\) \| System Home \| unreadable answer: /m);
        expect(r.stdout).toMatch(
            /^failed after 1 step: the model's answer is not an action .*twice; it said: <think>still<\/think>tap it please$/m,
        );
        expect(r.stdout).not.toMatch(/finished/);
    });

    it("a dead or refusing endpoint is one line and exit 1, and the phone is only checked", async () => {
        const dead = await agent(["open settings", "--url", "http://127.0.0.1:9/v1"], phones);
        expect(dead.code).toBe(1);
        expect(dead.stderr.trim().split("\n")).toHaveLength(1);
        expect(dead.stderr).toMatch(/^autoglm: .*127\.0\.0\.1:9.*/);
        const server = await startScriptedOpenAI([{ status: 500, message: "CUDA out of memory" }]);
        servers.push(server);
        const refusing = await agent(["open settings", "--url", server.url], phones);
        expect(refusing.code).toBe(1);
        expect(refusing.stderr).toMatch(
            /\nautoglm: the model does not answer \(http:\/\/127\.0\.0\.1:\d+\/v1\): .*CUDA out of memory.*\n$/,
        );
    });

    it("local-model flags are refused with --url, and --strict-actions where the server takes no grammar", async () => {
        const server = await scripted([]);
        const mmproj = await agent(["open settings", "--url", server.url, "--mmproj", "x.gguf"], phones);
        expect(mmproj.code).toBe(1);
        expect(mmproj.stderr).toBe(`autoglm: --mmproj applies to a local model; with --url the server at ${server.url} decides it\n`);
        const strict = await agent(["open settings", "--url", server.url, "--strict-actions"], phones);
        expect(strict.code).toBe(1);
        expect(strict.stderr).toMatch(
            /\nautoglm: --strict-actions sends a GBNF grammar, which a scripted server does not take: leave --strict-actions out, or use autoglm serve or llama-server\n$/,
        );
        expect(server.bodies).toHaveLength(0);
    });
});

describe("several phones at once", () => {
    it("--device twice: one task per phone, concurrently, each with its own history, against one engine", async () => {
        const phones = await fakePhones([phone("A1"), phone("B2")]);
        const server = await scripted([
            ...[1, 2].map(() => '<think>open it</think><answer>do(action="Launch", app="Settings")</answer>'),
            ...[1, 2].map(() => '<think>there</think><answer>finish(message="open")</answer>'),
        ]);
        const r = await agent(["open settings", "--url", server.url, "--device", "A1", "--device", "B2"], phones);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^\[A1\] step 1 \| System Home \| Launch Settings/m);
        expect(r.stdout).toMatch(/^\[B2\] step 1 \| System Home \| Launch Settings/m);
        expect(r.stdout).toMatch(/^\[A1\] finished after 2 steps: open$/m);
        expect(r.stdout).toMatch(/^\[B2\] finished after 2 steps: open$/m);
        for (const serial of ["A1", "B2"])
            expect(actions(phones, serial)).toEqual(["shell monkey -p com.android.settings -c android.intent.category.LAUNCHER 1"]);
        // Each second-step request carried its own phone's first step only.
        const second = server.bodies.filter((b) => b.messages.length === 4);
        expect(second).toHaveLength(2);
    });
});

describe("at a terminal", () => {
    it("a sensitive action asks first; no ends the task and nothing is tapped; --record keeps the run", async () => {
        const phones = await fakePhones([phone("T1")]);
        const server = await scripted(['<think>Pay.</think><answer>do(action="Tap", element=[500,500], message="pay 30 yuan")</answer>']);
        const record = join(tempDir("agent-record"), "run");
        const t = startTty(["agent", "buy the ticket", "--url", server.url, "--record", record], { ...phones.env, ...NO_WAITS });
        ttys.push(t);
        await t.waitFor(/The model wants to do a sensitive action: "pay 30 yuan"\. Allow it\? \[y\/N\]/, "the question");
        t.send("n");
        t.send("Enter");
        expect(await t.exitCode()).toBe(1);
        expect(t.screen()).toMatch(/cancelled/i);
        expect(actions(phones, "T1")).toEqual([]);
        const files = readdirSync(record);
        expect(files).toContain("index.html");
        expect(readFileSync(join(record, "index.html"), "utf8")).toContain("pay 30 yuan");
    });

    it("Ctrl-C at the question stops the task: exit 130", async () => {
        const phones = await fakePhones([phone("T2")]);
        const server = await scripted(['<think>Hand over.</think><answer>do(action="Take_over", message="log in please")</answer>']);
        const t = startTty(["agent", "log in", "--url", server.url], { ...phones.env, ...NO_WAITS });
        ttys.push(t);
        await t.waitFor(/The model asks you to take over: "log in please"/, "the question");
        t.send("C-c");
        expect(await t.exitCode()).toBe(130);
        expect(t.screen()).toMatch(/^interrupted after 1 step: stopped at the request to take over \("log in please"\)$/m);
    });

    it("without a terminal and without --yes the sensitive action is refused and the task ends saying so", async () => {
        const phones = await fakePhones([phone("T3")]);
        const server = await scripted(['<think>Pay.</think><answer>do(action="Tap", element=[500,500], message="pay")</answer>']);
        const r = await agent(["buy", "--url", server.url], phones);
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/--yes/);
        expect(actions(phones, "T3")).toEqual([]);
    });
});

describe("in process (the demo model, no server)", () => {
    let phones: FakePhones;
    beforeAll(async () => {
        phones = await fakePhones([phone("D1")]);
    });

    it("asks the Runtime directly; the random model's answer is no action, so the task fails with its text; --strict-actions leaves the thinking as it was", async () => {
        const run = async (strict: boolean) => {
            const r = await agent(
                [
                    "open settings",
                    "--max-steps",
                    "1",
                    "--max-tokens",
                    "24",
                    "--json",
                    "--threads",
                    "2",
                    ...(strict ? ["--strict-actions"] : []),
                ],
                phones,
                {},
                300_000,
            );
            expect(r.code, r.stderr).toBe(1);
            // The demo model loaded here, with Open-AutoGLM's sampling; no engine URL.
            expect(r.stderr).toMatch(/autoglm-demo/);
            expect(r.stderr).not.toMatch(/^engine http/m);
            const lines = jsonLines(r.stdout);
            expect(lines.map((l) => [l.type, l.attempt ?? null])).toEqual([
                ["step", 1],
                ["step", 2],
                ["result", null],
            ]);
            const [first, second, result] = lines;
            // A 1080x2400 screenshot: thousands of image tokens, evaluated once; the retry's fresh
            // screenshot is the same screen, so the second attempt finds its prompt cached.
            expect(first.tokens.prompt).toBeGreaterThan(1000);
            expect(first.tokens.completion).toBe(24);
            expect(second.tokens.cached).toBeGreaterThan(1000);
            expect(result).toMatchObject({ status: "failed", steps: 1 });
            expect(result.raw).toBe(second.raw);
            return first.raw as string;
        };
        const free = await run(false);
        const strict = await run(true);
        // The grammar constrains only what follows </think>: the random model never closes its
        // thinking in 24 tokens, so the constrained and the free thinking are the same text.
        // It differs only where the free text stops being UTF-8 (a random model's byte tokens): the
        // grammar admits only characters. A trained model's thinking is text throughout.
        expect(free).not.toContain("</think>");
        const text = free.split("\uFFFD")[0]!;
        expect(text.length).toBeGreaterThan(8);
        expect(strict.startsWith(text), JSON.stringify({ free, strict })).toBe(true);
        expect(actions(phones, "D1")).toEqual([]);
    }, 600_000);
    it("two phones in process: one slot each, both tasks run to their (failed) end", async () => {
        const two = await fakePhones([phone("E1"), phone("E2")]);
        const r = await agent(
            ["open settings", "--device", "E1", "--device", "E2", "--max-steps", "1", "--max-tokens", "8", "--json", "--threads", "2"],
            two,
            {},
            300_000,
        );
        expect(r.code, r.stderr).toBe(1);
        const results = jsonLines(r.stdout).filter((l) => l.type === "result");
        expect(results.map((l) => [l.device, l.status]).sort()).toEqual([
            ["E1", "failed"],
            ["E2", "failed"],
        ]);
        // Each phone's two attempts: the second found its own first attempt's prompt in its slot.
        for (const serial of ["E1", "E2"]) {
            const steps = jsonLines(r.stdout).filter((l) => l.type === "step" && l.device === serial);
            expect(steps.map((l) => l.attempt)).toEqual([1, 2]);
            expect(steps[1].tokens.cached).toBeGreaterThan(1000);
        }
    }, 600_000);
});

describe("--url against autoglm serve (the demo model and its vision encoder)", () => {
    let serve: RunningServer;
    beforeAll(async () => {
        serve = await startServer(["--threads", "2", "-c", "16384"], 300_000);
    }, 300_000);
    afterAll(async () => {
        if (serve) expect(await serve.stop()).toBe(0);
    });

    it("takes Open-AutoGLM's request with the screenshot and the action grammar (--strict-actions), and the random answer fails the task", async () => {
        const phones = await fakePhones([phone("S1")]);
        const r = await agent(
            ["open settings", "--url", serve.url, "--strict-actions", "--max-steps", "1", "--max-tokens", "16", "--json"],
            phones,
            {},
            300_000,
        );
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/^engine http:\/\/127\.0\.0\.1:\d+ \| model autoglm-demo \| served by autoglm \|/m);
        const lines = jsonLines(r.stdout);
        expect(lines.map((l) => l.type)).toEqual(["step", "step", "result"]);
        expect(lines[0].tokens.prompt).toBeGreaterThan(1000); // the 1080x2400 screenshot went through
        expect(lines[0].tokens.completion).toBe(16);
        expect(lines[2]).toMatchObject({ status: "failed", steps: 1 });
        expect(actions(phones, "S1")).toEqual([]);
    }, 300_000);
});
