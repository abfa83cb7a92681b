// The web chat page at / of the real `autoglm serve` (demo model), driven in a real headless
// Chromium (Debian's, through playwright-core; no browser download). Answers are noise (random
// weights): the tests check what the page does with them, compared with what the server sent.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultAsrModel } from "../models/default-model.js";
import { ROOT } from "./helpers/cli.js";
import { writeTestPng, writeToneWav } from "./helpers/media.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";
import { BROWSER_ARGS, CHROMIUM, haveBrowser } from "./helpers/browser.js";

const root = tempDir("webui");
const artifacts = join(ROOT, "test-artifacts");
const png = join(root, "screen.png");
const wav = join(root, "tone.wav");
/** The page is under test, not the backend: the CPU one, whatever GPU or Vulkan driver the machine has. */
const CPU = ["--gpu", "cpu"];
const KEY = "webui-test-key";
let server: RunningServer;
let keyed: RunningServer;
let browser: Browser;

if (!haveBrowser) {
    process.stderr.write(
        `\n*** webui.test.ts: no Chromium at ${CHROMIUM}: the web page is NOT tested (install Debian's chromium; CI fails here) ***\n\n`,
    );
    // In CI a missing browser is a failure, not a skip.
    if (process.env.CI === "true")
        it("has Chromium to test the web page with", () => {
            throw new Error(`no Chromium at ${CHROMIUM} (Debian package chromium, scripts/system-packages.txt)`);
        });
}

interface Sent {
    body: any;
    deltas: { content: string[]; reasoning: string[] };
}
type AnswerShape = "short" | "long" | "thinking";
interface Opened {
    page: Page;
    context: BrowserContext;
    sent: Sent[];
    bodies: any[];
    problems: string[];
    answers(shape: AnswerShape): void;
}

/**
 * What the route adds to the page's requests. short: 48 tokens at most (the demo model's noise may
 * otherwise run to the end of its 64k context); long: unable to end before 60,000 tokens; thinking: a
 * grammar makes the noise think first (the random model seldom writes <think> by itself). All are
 * sampled with a fixed seed, so what they are does not depend on chance.
 */
const SHAPES: Record<AnswerShape, object> = {
    short: { max_tokens: 48, seed: 7 },
    long: { ignore_eos: true, max_tokens: 60_000, seed: 7 },
    thinking: { max_tokens: 60, seed: 7, grammar: 'root ::= "<think>" [a-z ]{5,20} "</think>" [a-z ]{3,10}' },
};

/** A fresh browser profile on the page, with every chat request the page makes and the answer the server streamed recorded. */
async function open(s: RunningServer, viewport = { width: 1000, height: 760 }): Promise<Opened> {
    const context = await browser.newContext({ viewport });
    // The answer's bytes as the page received them, read from a tee of its own fetch (the browser's
    // network log decodes an event stream without a charset as Latin-1; SSE is UTF-8).
    await context.addInitScript(() => {
        const w = window as any,
            real = window.fetch.bind(window);
        w.__answers = [];
        window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
            const res = await real(input, init);
            if (!String(input).endsWith("/v1/chat/completions") || !res.ok || !res.body) return res;
            const [page, copy] = res.body.tee();
            const entry = { text: "", done: false };
            w.__answers.push(entry);
            new Response(copy).text().then(
                (t) => {
                    entry.text = t;
                    entry.done = true;
                },
                () => {
                    entry.done = true;
                },
            );
            return new Response(page, { status: res.status, statusText: res.statusText, headers: res.headers });
        };
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
        if (m.type() === "error" && !/401 \(Unauthorized\)/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    const bodies: any[] = [];
    let cap = SHAPES.short;
    await page.route("**/v1/chat/completions", (route) => {
        const body = route.request().postDataJSON();
        bodies.push(body);
        return route.continue({ postData: JSON.stringify({ ...body, ...cap }) });
    });
    await page.goto(`${s.url}/`);
    return {
        page,
        context,
        sent: [],
        bodies,
        problems,
        answers: (shape) => {
            cap = SHAPES[shape];
        },
    };
}

function deltasOf(sse: string): Sent["deltas"] {
    const deltas = { content: [] as string[], reasoning: [] as string[] };
    for (const line of sse.split("\n")) {
        if (!line.startsWith("data: {")) continue;
        const d = JSON.parse(line.slice(6)).choices?.[0]?.delta ?? {};
        if (d.content) deltas.content.push(d.content);
        if (d.reasoning_content) deltas.reasoning.push(d.reasoning_content);
    }
    return deltas;
}

/** Waits until the page has read `n` whole answers, then fills `o.sent` with them and their requests. */
async function requests(o: Opened, n: number): Promise<void> {
    await until(() => o.page.evaluate(() => (window as any).__answers.filter((a: { done: boolean }) => a.done).length)).toBe(n);
    const texts: string[] = await o.page.evaluate(() => (window as any).__answers.map((a: { text: string }) => a.text));
    o.sent.splice(0, o.sent.length, ...texts.map((t, i) => ({ body: o.bodies[i], deltas: deltasOf(t) })));
}

/** Polls until the expectation holds; generous, since a busy 2-core machine may be slow (nothing here is timed). */
const until = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 240_000, interval: 100 });
const ready = (page: Page) => page.waitForSelector("body[data-ready=true]");
/** The last answer once it has ended (aria-busy false). */
async function lastAnswer(page: Page) {
    const turn = page.locator(".turn.assistant").last();
    await until(() => turn.getAttribute("aria-busy")).toBe("false");
    return turn;
}
const metric = async (s: RunningServer, name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${s.url}/metrics`)).text())![1]);

// Generous: on a busy 2-core machine the demo model's answers and the browser are slow (nothing here is timed).
describe.skipIf(!haveBrowser)("web chat page", { timeout: 600_000 }, () => {
    beforeAll(async () => {
        mkdirSync(artifacts, { recursive: true });
        await writeTestPng(png, 320, 200);
        writeToneWav(wav, 1);
        const asr = await defaultAsrModel();
        // The demo model (vision) with the demo speech model, so the page offers images and audio.
        server = await startServer([...CPU, "--asr-model", asr.text, "--asr-mmproj", asr.audio]);
        keyed = await startServer([...CPU, "--api-key", KEY]);
        browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: [...BROWSER_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
        });
    });

    afterAll(async () => {
        await browser?.close();
        for (const s of [server, keyed]) if (s) expect(await s.stop(), s.stderr()).toBe(0);
    });

    it("is served with its content types, a strict CSP and cache headers; off with --no-webui; public with --api-key", async () => {
        const sizes: Record<string, { bytes: number; gzip: number }> = {};
        for (const [path, type] of [
            ["/", "text/html"],
            ["/webui/app.js", "text/javascript"],
            ["/webui/api.js", "text/javascript"],
            ["/webui/audio.js", "text/javascript"],
            ["/webui/app.css", "text/css"],
        ] as const) {
            const plain = await fetch(`${server.url}${path}`, { headers: { "accept-encoding": "identity" } });
            expect(plain.status, path).toBe(200);
            expect(plain.headers.get("content-type")).toContain(type);
            expect(plain.headers.get("content-security-policy")).toContain("default-src 'none'");
            expect(plain.headers.get("content-security-policy")).toContain("script-src 'self'");
            expect(plain.headers.get("x-content-type-options")).toBe("nosniff");
            expect(plain.headers.get("cache-control")).toBe("no-cache");
            const etag = plain.headers.get("etag")!;
            const bytes = (await plain.arrayBuffer()).byteLength;
            const again = await fetch(`${server.url}${path}`, { headers: { "if-none-match": etag } });
            expect(again.status).toBe(304);
            // Node's fetch unzips; the raw length is the header's.
            const zipped = await fetch(`${server.url}${path}`, { headers: { "accept-encoding": "gzip" } });
            expect(zipped.headers.get("content-encoding")).toBe("gzip");
            sizes[path] = { bytes, gzip: Number(zipped.headers.get("content-length")) };
            await zipped.arrayBuffer();
        }
        const total = Object.values(sizes).reduce((a, s) => ({ bytes: a.bytes + s.bytes, gzip: a.gzip + s.gzip }), { bytes: 0, gzip: 0 });
        writeFileSync(join(artifacts, "webui-size.json"), JSON.stringify({ files: sizes, total }, null, 2));
        process.stdout.write(`web page size: ${total.bytes} bytes, ${total.gzip} gzipped (${JSON.stringify(sizes)})\n`);
        expect((await fetch(`${server.url}/webui/nothing.js`)).status).toBe(404);

        // With a key: the page's files are public, the API is not.
        expect((await fetch(`${keyed.url}/`)).status).toBe(200);
        expect((await fetch(`${keyed.url}/v1/models`)).status).toBe(401);
        expect((await fetch(`${keyed.url}/nothing`)).status).toBe(401);

        const off = await startServer([...CPU, "--no-webui"]);
        try {
            const r = await fetch(`${off.url}/`);
            expect(r.status).toBe(404);
            expect((await r.json()).error.code).toBe("not_found");
            expect(off.stderr()).not.toMatch(/web chat page/);
        } finally {
            expect(await off.stop()).toBe(0);
        }
    });

    it("loads: the model and what it takes, focus in the message box; time to interactive reported", async () => {
        const { page, context, problems } = await open(server);
        await ready(page);
        await until(() => page.locator("#model").textContent()).toBe("autoglm-demo (text, images, audio)");
        expect(await page.evaluate(() => document.activeElement?.id)).toBe("input");
        for (const id of ["attach-image", "attach-audio", "record", "send"])
            expect(await page.locator(`#${id}`).isEnabled(), id).toBe(true);
        expect(await page.locator("#stop").isEnabled()).toBe(false);
        const timing = await page.evaluate(() => {
            const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
            return {
                domInteractiveMs: nav.domInteractive,
                domContentLoadedMs: nav.domContentLoadedEventEnd,
                readyMs: performance.getEntriesByName("autoglm:ready")[0]!.startTime,
            };
        });
        writeFileSync(join(artifacts, "webui-timing.json"), JSON.stringify(timing, null, 2));
        process.stdout.write(`web page time to interactive: ${JSON.stringify(timing)}\n`);
        expect(problems).toEqual([]); // no CSP violation, no script error
        await context.close();
    });

    it("a text turn streams into the answer, thinking folded apart; the second turn sends the history and reuses the cache", async () => {
        const o = await open(server),
            { page, context, sent, problems } = o;
        await ready(page);
        expect(await page.locator("#thinking").isChecked()).toBe(true); // GLM-4.1V thinks by default
        o.answers("thinking");
        await page.fill("#input", "Hello, who are you?");
        await page.click("#send");
        let answer = await lastAnswer(page);
        await requests(o, 1);
        expect(sent[0]!.body).toMatchObject({
            stream: true,
            messages: [{ role: "user", content: "Hello, who are you?" }],
            chat_template_kwargs: { enable_thinking: true },
            reasoning_format: "deepseek",
        });
        // What the page shows is what the server streamed, piece by piece, as text.
        expect(sent[0]!.deltas.content.length + sent[0]!.deltas.reasoning.length).toBeGreaterThan(1);
        expect(await answer.locator(".text").evaluate((e) => e.textContent)).toBe(sent[0]!.deltas.content.join(""));
        const thought = sent[0]!.deltas.reasoning.join("");
        expect(thought.length).toBeGreaterThan(0);
        expect(await answer.locator(".thinking .thought").evaluate((e) => e.textContent)).toBe(thought);
        // Folded: shown, closed, opened by its summary.
        const fold = answer.locator(".thinking");
        expect(await fold.evaluate((e: HTMLDetailsElement) => ({ hidden: e.hidden, open: e.open }))).toEqual({
            hidden: false,
            open: false,
        });
        await answer.locator(".thinking summary").click();
        expect(await fold.evaluate((e: HTMLDetailsElement) => e.open)).toBe(true);
        const first = answer.locator(".stats");
        expect(await first.textContent()).toMatch(
            /^\d+ prompt tokens \(\d+ cached\) · first token \d+ ms · [\d.]+ tokens\/s · \d+ tokens$/,
        );

        // Thinking off, a second turn: the whole conversation goes again and the slot's cache serves its start.
        o.answers("short");
        await page.click("#thinking");
        await page.fill("#input", "And what can you do?");
        await page.click("#send");
        answer = await lastAnswer(page);
        await requests(o, 2);
        const second = sent[1]!.body;
        expect(second.chat_template_kwargs).toEqual({ enable_thinking: false });
        expect(second.messages).toEqual([
            { role: "user", content: "Hello, who are you?" },
            { role: "assistant", content: sent[0]!.deltas.content.join("") },
            { role: "user", content: "And what can you do?" },
        ]);
        expect(sent[1]!.deltas.reasoning).toEqual([]);
        expect(await answer.locator(".thinking").evaluate((e: HTMLDetailsElement) => e.hidden)).toBe(true);
        const stats = answer.locator(".stats");
        const cached = Number(await stats.getAttribute("data-cached-tokens"));
        expect(cached).toBeGreaterThan(0);
        expect(cached).toBeLessThan(Number(await stats.getAttribute("data-prompt-tokens")));
        expect(await stats.textContent()).toContain(`(${cached} cached)`);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("an image picked from a file is shown as a thumbnail and sent as a data URL", async () => {
        const o = await open(server),
            { page, context, sent, problems } = o;
        await ready(page);
        await page.click("#thinking"); // off (stored per browser profile; this one is fresh)
        await page.setInputFiles("#image-file", png);
        await until(() => page.locator("#attachments img").count()).toBe(1);
        await page.fill("#input", "What is on the screen?");
        await page.click("#send");
        const answer = await lastAnswer(page);
        await requests(o, 1);
        const url = `data:image/png;base64,${readFileSync(png).toString("base64")}`;
        expect(sent[0]!.body.messages).toEqual([
            {
                role: "user",
                content: [
                    { type: "image_url", image_url: { url } },
                    { type: "text", text: "What is on the screen?" },
                ],
            },
        ]);
        expect(await page.locator(".turn.user img.thumb").last().getAttribute("src")).toBe(url);
        expect(await page.locator("#attachments li").count()).toBe(0);
        // The image's tokens are in the prompt: far more than the few of the text.
        expect(Number(await answer.locator(".stats").getAttribute("data-prompt-tokens"))).toBeGreaterThan(40);
        expect(await answer.locator(".error").count()).toBe(0);
        expect(problems).toEqual([]);
        await context.close();
    });

    // The demo speech model's transcripts are noise up to its 1,024-token limit, minutes on a busy
    // machine, so this test checks what the page sends and shows, then stops the turn (serve.test.ts
    // checks the server's answers to audio).
    it("audio: a picked WAV goes as it is, a microphone recording as 16 kHz mono 16-bit WAV; Stop cancels the transcription", async () => {
        const o = await open(server),
            { page, context, bodies, problems } = o;
        await ready(page);
        await page.setInputFiles("#audio-file", wav);
        await page.click("#record");
        await until(() => page.locator("#record").getAttribute("aria-pressed")).toBe("true");
        await page.waitForTimeout(700); // how long to record (Chromium's fake microphone beeps)
        await page.click("#record");
        await until(() => page.locator("#attachments li").count()).toBe(2);
        await page.fill("#input", "What did I say?");
        await page.keyboard.press("Enter");
        await until(() => bodies.length).toBe(1);
        const parts = bodies[0].messages[0].content;
        expect(parts.map((p: any) => p.type)).toEqual(["input_audio", "input_audio", "text"]);
        expect(parts[0].input_audio).toEqual({ data: readFileSync(wav).toString("base64"), format: "wav" });
        const rec = Buffer.from(parts[1].input_audio.data, "base64");
        expect(rec.toString("ascii", 0, 4) + rec.toString("ascii", 8, 12)).toBe("RIFFWAVE");
        expect({
            format: rec.readUInt16LE(20),
            channels: rec.readUInt16LE(22),
            rate: rec.readUInt32LE(24),
            bits: rec.readUInt16LE(34),
        }).toEqual({ format: 1, channels: 1, rate: 16000, bits: 16 });
        expect(rec.readUInt32LE(40)).toBe(rec.length - 44);
        expect(rec.readUInt32LE(40)).toBeGreaterThan(16000 * 2 * 0.1); // some of the beeps
        expect(await page.locator(".turn.user audio").count()).toBe(2);
        await page.click("#stop");
        const answer = await lastAnswer(page);
        expect(await answer.locator(".note").textContent()).toBe("stopped");
        await until(() => metric(server, "autoglm_slots_busy")).toBe(0);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("Stop aborts the stream mid-answer; the server cancels and frees the slot", async () => {
        const o = await open(server),
            { page, context, problems } = o;
        await ready(page);
        o.answers("long"); // an answer that cannot end by itself before the click
        const before = await metric(server, "autoglm_completion_tokens_total");
        await page.fill("#input", "Tell me a very long story.");
        await page.click("#send");
        const answer = page.locator(".turn.assistant").last();
        await until(
            async () => (await answer.locator(".text").textContent())!.length + (await answer.locator(".thought").textContent())!.length,
        ).toBeGreaterThan(0);
        expect(await page.locator("#send").isEnabled()).toBe(false);
        await page.click("#stop");
        await until(() => answer.getAttribute("aria-busy")).toBe("false");
        expect(await answer.locator(".note").textContent()).toBe("stopped");
        await until(() => metric(server, "autoglm_slots_busy")).toBe(0);
        // Cancelled, not finished: fewer tokens than the answer would have had.
        await until(() => metric(server, "autoglm_completion_tokens_total")).toBeGreaterThan(before);
        expect((await metric(server, "autoglm_completion_tokens_total")) - before).toBeLessThan(60_000);
        expect(await page.locator("#send").isEnabled()).toBe(true);
        expect(await page.locator("#stop").isEnabled()).toBe(false);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("New chat while an answer streams stops it and starts an empty conversation", async () => {
        const o = await open(server),
            { page, context, bodies, problems } = o;
        await ready(page);
        o.answers("long");
        await page.fill("#input", "The first conversation");
        await page.click("#send");
        const answer = page.locator(".turn.assistant").last();
        await until(
            async () => (await answer.locator(".text").textContent())!.length + (await answer.locator(".thought").textContent())!.length,
        ).toBeGreaterThan(0);
        await page.click("#new-chat");
        expect(await page.locator(".turn").count()).toBe(0);
        await until(() => metric(server, "autoglm_slots_busy")).toBe(0);
        o.answers("short");
        await page.fill("#input", "A second one");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        expect(bodies[1].messages).toEqual([{ role: "user", content: "A second one" }]);
        expect(await page.locator(".turn").count()).toBe(2);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("asks for the API key on a 401, again when it is wrong, and keeps it", async () => {
        const o = await open(keyed),
            { page, context, problems } = o;
        const dialog = page.locator("#key-dialog");
        await until(() => dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
        await page.fill("#key-input", "wrong");
        await page.keyboard.press("Enter");
        await until(() => page.locator("#key-note").textContent()).toMatch(/refused that key/);
        expect(await dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
        await page.fill("#key-input", KEY);
        await page.keyboard.press("Enter");
        await ready(page);
        expect(await page.locator("#model").textContent()).toMatch(/^autoglm-demo/);
        await page.fill("#input", "hi");
        await page.keyboard.press("Enter");
        const answer = await lastAnswer(page);
        await requests(o, 1);
        expect(await answer.locator(".error").count()).toBe(0);
        // A reload finds the key in localStorage: no prompt.
        await page.reload();
        await ready(page);
        expect(await dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
        expect(await page.locator("#model").textContent()).toMatch(/^autoglm-demo/);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("works from the keyboard alone: Tab reaches the controls, Space switches, Enter sends, Escape stops", async () => {
        const o = await open(server),
            { page, context, sent, problems } = o;
        await ready(page);
        const focused = () => page.evaluate(() => document.activeElement?.id ?? "");
        expect(await focused()).toBe("input");
        // Back to the thinking switch in the header; Space turns it off; forward again to the message box.
        await page.keyboard.press("Shift+Tab");
        expect(await focused()).toBe("new-chat");
        await page.keyboard.press("Shift+Tab");
        expect(await focused()).toBe("thinking");
        await page.keyboard.press("Space");
        expect(await page.locator("#thinking").isChecked()).toBe(false);
        await page.keyboard.press("Tab");
        await page.keyboard.press("Tab");
        expect(await focused()).toBe("input");
        await page.keyboard.type("Hello from the keyboard");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        await requests(o, 1);
        expect(sent[0]!.body).toMatchObject({
            messages: [{ role: "user", content: "Hello from the keyboard" }],
            chat_template_kwargs: { enable_thinking: false },
        });
        expect(await focused()).toBe("input");
        // Shift+Enter is a new line, not a send.
        await page.keyboard.type("line one");
        await page.keyboard.press("Shift+Enter");
        await page.keyboard.type("line two");
        expect(await page.inputValue("#input")).toBe("line one\nline two");
        // Tab walks the composer's controls in order (Stop is disabled while idle), and back.
        const order: string[] = [];
        for (let i = 0; i < 4; i++) {
            await page.keyboard.press("Tab");
            order.push(await focused());
        }
        expect(order).toEqual(["attach-image", "attach-audio", "record", "send"]);
        for (let i = 0; i < 4; i++) await page.keyboard.press("Shift+Tab");
        expect(await focused()).toBe("input");
        // Enter sends the two lines; Escape stops the answer (made long enough to be stopped).
        o.answers("long");
        await page.keyboard.press("Enter");
        const answer = page.locator(".turn.assistant").last();
        await until(async () => (await answer.locator(".text").textContent())!.length).toBeGreaterThan(0);
        await page.keyboard.press("Escape");
        await until(() => answer.getAttribute("aria-busy")).toBe("false");
        expect(await answer.locator(".note").textContent()).toBe("stopped");
        await until(() => metric(server, "autoglm_slots_busy")).toBe(0);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("screenshots after a turn, desktop and phone (test-artifacts/)", async () => {
        for (const [name, viewport] of [
            ["webui-desktop.png", { width: 1000, height: 760 }],
            ["webui-phone.png", { width: 390, height: 844 }],
        ] as const) {
            const o = await open(server, viewport),
                { page, context, problems } = o;
            await ready(page);
            o.answers("thinking");
            await page.setInputFiles("#image-file", png);
            await page.fill("#input", "What is on the screen?");
            await page.click("#send");
            await lastAnswer(page);
            await page.fill("#input", "A draft of the next question");
            // The page fits the phone's width: nothing scrolls sideways.
            expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
            await page.screenshot({ path: join(artifacts, name) });
            expect(problems).toEqual([]);
            await context.close();
        }
    });
});
