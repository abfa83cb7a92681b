// The web chat page at / of the real `autoglm serve` (demo model), driven in a real headless
// Chromium (Debian's, through playwright-core; no browser download). Answers are noise (random
// weights), or text a grammar dictates (markdown, a hostile answer): the tests check what the page
// does with them, compared with what the server sent.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
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

interface Deltas {
    content: string[];
    reasoning: string[];
    usage?: { prompt_tokens: number; completion_tokens: number };
    finish?: string;
}
interface Sent {
    /** What the page sent. */
    body: any;
    /** What the server received: the page's body with the test's shape merged in. */
    received: any;
    deltas: Deltas;
}
type AnswerShape = "short" | "long" | "thinking" | "settings" | "hostile" | "markdown" | "reseeded";
interface Opened {
    page: Page;
    context: BrowserContext;
    sent: Sent[];
    bodies: any[];
    received: any[];
    problems: string[];
    answers(shape: AnswerShape): void;
}

/** A GBNF string literal for `text`. */
const gbnf = (text: string) => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/** An answer a model might give after reading a hostile page: markdown worth rendering, and markup and links that must stay inert. */
const HOSTILE = [
    "# Report",
    "",
    "Some **bold**, *italic* and `inline code`.",
    "",
    "1. first",
    "2. second",
    "",
    "```js",
    "const x = 1 < 2;",
    "```",
    "",
    `<img src=x onerror="window.__pwned='img'"> <script>window.__pwned='script'</script>`,
    "",
    `[a script link](javascript:window.__pwned='link') and <a href="javascript:window.__pwned='a'">a raw anchor</a>`,
    "",
    "![tracker](https://tracker.example/pixel.png) and [the docs](https://example.com/docs)",
].join("\n");

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
    // The page's own limits and sampling reach the server untouched; the answer cannot end before its max_tokens.
    settings: { ignore_eos: true, seed: 7 },
    hostile: { max_tokens: 1000, seed: 7, grammar: `root ::= ${gbnf(HOSTILE)}` },
    markdown: {
        max_tokens: 300,
        seed: 7,
        grammar: `root ::= ${gbnf("Two steps:\n\n1. Open **Settings**\n2. Run:\n\n```sh\nadb shell input tap 540 1200\n```")}`,
    },
    reseeded: { max_tokens: 48, seed: 8 },
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
    const received: any[] = [];
    let cap = SHAPES.short;
    await page.route("**/v1/chat/completions", (route) => {
        const body = route.request().postDataJSON();
        bodies.push(body);
        received.push({ ...body, ...cap });
        return route.continue({ postData: JSON.stringify(received.at(-1)) });
    });
    await page.goto(`${s.url}/`);
    return {
        page,
        context,
        sent: [],
        bodies,
        received,
        problems,
        answers: (shape) => {
            cap = SHAPES[shape];
        },
    };
}

function deltasOf(sse: string): Deltas {
    const deltas: Deltas = { content: [], reasoning: [] };
    for (const line of sse.split("\n")) {
        if (!line.startsWith("data: {")) continue;
        const chunk = JSON.parse(line.slice(6));
        if (chunk.usage) deltas.usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) deltas.finish = choice.finish_reason;
        const d = choice?.delta ?? {};
        if (d.content) deltas.content.push(d.content);
        if (d.reasoning_content) deltas.reasoning.push(d.reasoning_content);
    }
    return deltas;
}

/** Waits until the page has read `n` whole answers, then fills `o.sent` with them and their requests. */
async function requests(o: Opened, n: number): Promise<void> {
    await until(() => o.page.evaluate(() => (window as any).__answers.filter((a: { done: boolean }) => a.done).length)).toBe(n);
    const texts: string[] = await o.page.evaluate(() => (window as any).__answers.map((a: { text: string }) => a.text));
    o.sent.splice(0, o.sent.length, ...texts.map((t, i) => ({ body: o.bodies[i], received: o.received[i], deltas: deltasOf(t) })));
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
const focused = (page: Page) =>
    page.evaluate(() => document.activeElement?.id || (document.activeElement as HTMLElement)?.dataset.action || "");

/**
 * Makes the page's own renderer (markdown.js) callable from the test's evaluate() functions as
 * window.__renderMarkdown. A string, so that vitest leaves the import() alone.
 */
const withRenderer = (page: Page) =>
    page.evaluate('import("/webui/markdown.js").then((m) => { window.__renderMarkdown = m.renderMarkdown; })');

/** The page's own rendering of `markdown`, as HTML, to compare an answer's DOM with. */
async function rendered(page: Page, markdown: string): Promise<string> {
    await withRenderer(page);
    return page.evaluate((src) => {
        const box = document.createElement("div");
        box.append((window as any).__renderMarkdown(src));
        return box.innerHTML;
    }, markdown);
}

/** Sets the settings panel's fields as a person would (opens it, types, closes it with its button). */
async function settle(page: Page, values: { thinking?: boolean; system?: string; temperature?: string; maxTokens?: string }) {
    if (await page.locator("#settings").isHidden()) await page.click("#settings-toggle");
    if (values.system !== undefined) await page.fill("#system-prompt", values.system);
    if (values.temperature !== undefined) await page.fill("#temperature", values.temperature);
    if (values.maxTokens !== undefined) await page.fill("#max-tokens", values.maxTokens);
    if (values.thinking !== undefined) await page.setChecked("#thinking", values.thinking);
    await page.click("#settings-close");
}

/** What the page keeps in IndexedDB: how many conversations, and how many message lists. */
const stored = (page: Page) =>
    page.evaluate(
        () =>
            new Promise<{ chats: number; turns: number }>((resolve, reject) => {
                const req = indexedDB.open("autoglm");
                req.onerror = () => reject(req.error);
                req.onsuccess = () => {
                    const db = req.result;
                    const tx = db.transaction(["chats", "turns"]);
                    const chats = tx.objectStore("chats").count(),
                        turns = tx.objectStore("turns").count();
                    tx.oncomplete = () => {
                        db.close();
                        resolve({ chats: chats.result, turns: turns.result });
                    };
                };
            }),
    );
const titles = (page: Page) => page.locator("#chats .open").allTextContents();

// Generous: on a busy 2-core machine the demo model's answers and the browser are slow (nothing here is timed).
describe.skipIf(!haveBrowser)("web chat page", { timeout: 600_000 }, () => {
    beforeAll(async () => {
        mkdirSync(artifacts, { recursive: true });
        await writeTestPng(png, 320, 200);
        writeToneWav(wav, 1);
        const asr = await defaultAsrModel();
        // The demo model (vision) with the demo speech model, so the page offers images and audio.
        server = await startServer([...CPU, "--asr-model", asr.text, "--asr-mmproj", asr.audio]);
        // NO_COLOR=1 (a terminal setting a user may have exported) changes nothing the page depends on.
        keyed = await startServer([...CPU, "--api-key", KEY], undefined, { NO_COLOR: "1" });
        browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: [...BROWSER_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
        });
    });

    afterAll(async () => {
        await browser?.close();
        for (const s of [server, keyed]) if (s) expect(await s.stop(), s.stderr()).toBe(0);
    });

    it("is served with its content types, a strict CSP and cache headers, its libraries from node_modules; off with --no-webui; public with --api-key", async () => {
        const sizes: Record<string, { bytes: number; gzip: number }> = {};
        for (const [path, type] of [
            ["/", "text/html"],
            ["/webui/app.js", "text/javascript"],
            ["/webui/api.js", "text/javascript"],
            ["/webui/audio.js", "text/javascript"],
            ["/webui/markdown.js", "text/javascript"],
            ["/webui/settings.js", "text/javascript"],
            ["/webui/store.js", "text/javascript"],
            ["/webui/view.js", "text/javascript"],
            ["/webui/app.css", "text/css"],
            ["/webui/vendor/marked.esm.js", "text/javascript"],
            ["/webui/vendor/purify.es.mjs", "text/javascript"],
        ] as const) {
            const plain = await fetch(`${server.url}${path}`, { headers: { "accept-encoding": "identity" } });
            expect(plain.status, path).toBe(200);
            expect(plain.headers.get("content-type")).toContain(type);
            const csp = plain.headers.get("content-security-policy")!;
            expect(csp).toContain("default-src 'none'");
            expect(csp).toContain("script-src 'self'");
            expect(csp).toContain("require-trusted-types-for 'script'");
            expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
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
        expect((await fetch(`${server.url}/webui/vendor/nothing.js`)).status).toBe(404);
        expect((await fetch(`${server.url}/webui/vendor/..%2F..%2Fpackage.json`)).status).toBe(404);
        // The libraries are the installed packages' files, byte for byte (package.json pins their versions).
        const require = createRequire(import.meta.url);
        for (const [path, pkg, file] of [
            ["/webui/vendor/marked.esm.js", "marked", "lib/marked.esm.js"],
            ["/webui/vendor/purify.es.mjs", "dompurify", "dist/purify.es.mjs"],
        ] as const) {
            const root = dirname(dirname(require.resolve(pkg)));
            const served = Buffer.from(await (await fetch(`${server.url}${path}`)).arrayBuffer());
            expect(served.equals(readFileSync(join(root, file))), path).toBe(true);
        }

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
        expect(await page.locator("#thinking").isChecked()).toBe(true); // GLM-4.1V thinks by default (the settings panel)
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
            max_tokens: 2048, // the default limit: an answer never runs on to the end of the context
        });
        // What the page shows is what the server streamed, all of it, once, as markdown rendered by the page.
        expect(sent[0]!.deltas.content.length + sent[0]!.deltas.reasoning.length).toBeGreaterThan(1);
        expect(await answer.locator(".text").innerHTML()).toBe(await rendered(page, sent[0]!.deltas.content.join("")));
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
        await settle(page, { thinking: false });
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
        await settle(page, { thinking: false }); // stored per browser profile; this one is fresh
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

    it("asks for the API key on a 401, again when it is wrong; keeps it for the tab only unless remembered; forgets it (server under NO_COLOR)", async () => {
        const o = await open(keyed),
            { page, context, problems } = o;
        const dialogOpen = (p: Page) => p.locator("#key-dialog").evaluate((d: HTMLDialogElement) => d.open);
        const kept = (p: Page) =>
            p.evaluate(
                (key) => ({
                    session: sessionStorage.getItem("autoglm.apiKey"),
                    local: localStorage.getItem("autoglm.apiKey"),
                    // Anywhere in localStorage, under any name.
                    anywhere: Object.keys(localStorage).some((k) => (localStorage.getItem(k) ?? "").includes(key)),
                }),
                KEY,
            );
        await until(() => dialogOpen(page)).toBe(true);
        expect(await page.locator("#key-remember").isChecked()).toBe(false);
        await page.fill("#key-input", "wrong");
        await page.keyboard.press("Enter");
        await until(() => page.locator("#key-note").textContent()).toMatch(/refused that key/);
        expect(await dialogOpen(page)).toBe(true);
        await page.fill("#key-input", KEY);
        await page.keyboard.press("Enter");
        await ready(page);
        expect(await page.locator("#model").textContent()).toMatch(/^autoglm-demo/);
        await page.fill("#input", "hi");
        await page.keyboard.press("Enter");
        const answer = await lastAnswer(page);
        await requests(o, 1);
        expect(await answer.locator(".error").count()).toBe(0);
        // Not remembered: in this tab's sessionStorage, nowhere in localStorage.
        expect(await kept(page)).toEqual({ session: KEY, local: null, anywhere: false });
        // A reload of the tab keeps its session: no prompt.
        await page.reload();
        await ready(page);
        expect(await dialogOpen(page)).toBe(false);
        expect(await page.locator("#model").textContent()).toMatch(/^autoglm-demo/);
        // Another tab has its own session: it asks; this time the key is remembered.
        const second = await context.newPage();
        await second.goto(`${keyed.url}/`);
        await until(() => dialogOpen(second)).toBe(true);
        await second.fill("#key-input", KEY);
        await second.check("#key-remember");
        await second.keyboard.press("Enter");
        await ready(second);
        expect(await kept(second)).toEqual({ session: null, local: KEY, anywhere: true });
        // Remembered: a third tab needs no prompt. The settings say where the key is, and forget it.
        const third = await context.newPage();
        await third.goto(`${keyed.url}/`);
        await ready(third);
        expect(await dialogOpen(third)).toBe(false);
        await third.click("#settings-toggle");
        expect(await third.locator("#key-state").textContent()).toMatch(/remembered/);
        await third.click("#forget-key");
        expect(await third.locator("#key-state").textContent()).toMatch(/No key/);
        expect(await third.locator("#forget-key").isDisabled()).toBe(true);
        expect(await kept(third)).toEqual({ session: null, local: null, anywhere: false });
        await third.reload();
        await until(() => dialogOpen(third)).toBe(true);
        await third.click("#key-cancel"); // cancelled: the page says what the server answered
        await until(() => third.locator("#model").textContent()).toMatch(/^401/);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("works from the keyboard alone: Tab reaches the controls, the settings open and close, Enter sends, Edit and Escape", async () => {
        const o = await open(server),
            { page, context, sent, problems } = o;
        await ready(page);
        expect(await focused(page)).toBe("input");
        // Back through the list's New chat to the Settings button; Enter opens the panel on its first field.
        await page.keyboard.press("Shift+Tab");
        expect(await focused(page)).toBe("new-chat");
        await page.keyboard.press("Shift+Tab");
        expect(await focused(page)).toBe("settings-toggle");
        await page.keyboard.press("Enter");
        expect(await focused(page)).toBe("system-prompt");
        expect(await page.locator("#settings-toggle").getAttribute("aria-expanded")).toBe("true");
        const order: string[] = [];
        for (let i = 0; i < 3; i++) {
            await page.keyboard.press("Tab");
            order.push(await focused(page));
        }
        expect(order).toEqual(["temperature", "max-tokens", "thinking"]);
        await page.keyboard.press("Space");
        expect(await page.locator("#thinking").isChecked()).toBe(false);
        // Escape closes the panel and gives the focus back to its button.
        await page.keyboard.press("Escape");
        expect(await page.locator("#settings").isHidden()).toBe(true);
        expect(await focused(page)).toBe("settings-toggle");
        await page.keyboard.press("Tab");
        await page.keyboard.press("Tab");
        expect(await focused(page)).toBe("input");
        await page.keyboard.type("Hello from the keyboard");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        await requests(o, 1);
        expect(sent[0]!.body).toMatchObject({
            messages: [{ role: "user", content: "Hello from the keyboard" }],
            chat_template_kwargs: { enable_thinking: false },
        });
        expect(await focused(page)).toBe("input");
        // Shift+Enter is a new line, not a send.
        await page.keyboard.type("line one");
        await page.keyboard.press("Shift+Enter");
        await page.keyboard.type("line two");
        expect(await page.inputValue("#input")).toBe("line one\nline two");
        // Tab walks the composer's controls in order (Stop is disabled while idle), and back.
        order.length = 0;
        for (let i = 0; i < 4; i++) {
            await page.keyboard.press("Tab");
            order.push(await focused(page));
        }
        expect(order).toEqual(["attach-image", "attach-audio", "record", "send"]);
        for (let i = 0; i < 4; i++) await page.keyboard.press("Shift+Tab");
        expect(await focused(page)).toBe("input");
        // Back from the message box: the conversation's actions, the last answer's first.
        order.length = 0;
        for (let i = 0; i < 4; i++) {
            await page.keyboard.press("Shift+Tab");
            order.push(await focused(page));
        }
        expect(order).toEqual(["regenerate", "copy", "edit", "copy"]);
        // Edit opens on the message, focused; Escape closes it and gives the focus back to Edit.
        await page.keyboard.press("Tab");
        expect(await focused(page)).toBe("edit");
        await page.keyboard.press("Enter");
        expect(await page.evaluate(() => document.activeElement?.className)).toBe("edit-input");
        expect(await page.inputValue(".edit-input")).toBe("Hello from the keyboard");
        await page.keyboard.press("Escape");
        expect(await page.locator(".edit").count()).toBe(0);
        expect(await focused(page)).toBe("edit");
        // Enter sends the two lines; Escape stops the answer (made long enough to be stopped).
        await page.focus("#input");
        o.answers("long");
        await page.keyboard.press("Enter");
        const answer = page.locator(".turn.assistant").last();
        await until(async () => (await answer.locator(".text").textContent())!.length).toBeGreaterThan(0);
        await page.keyboard.press("Escape");
        await until(() => answer.getAttribute("aria-busy")).toBe("false");
        expect(await answer.locator(".note").textContent()).toBe("stopped");
        await until(() => metric(server, "autoglm_slots_busy")).toBe(0);
        expect(await focused(page)).toBe("input");
        expect(problems).toEqual([]);
        await context.close();
    });

    it("conversations are kept in the browser: a reload keeps them, images included; the list opens, renames and deletes them", async () => {
        const o = await open(server),
            { page, context, bodies, problems } = o;
        await ready(page);
        await settle(page, { thinking: false });
        expect(await titles(page)).toEqual([]); // a new conversation is listed once it has a message
        await page.setInputFiles("#image-file", png);
        await page.fill("#input", "What is on the screen?");
        await page.click("#send");
        await lastAnswer(page);
        await page.click("#new-chat");
        expect(await focused(page)).toBe("input");
        expect(await page.locator(".turn").count()).toBe(0);
        await page.fill("#input", "A second conversation");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        await requests(o, 2);
        const answers = o.sent.map((x) => x.deltas.content.join(""));
        // Newest first, the open one marked.
        expect(await titles(page)).toEqual(["A second conversation", "What is on the screen?"]);
        expect(await page.locator("#chats [aria-current=true]").textContent()).toBe("A second conversation");
        const before = await page.locator("#log").innerHTML();

        // A reload opens the conversation that was open, as it was.
        await page.reload();
        await ready(page);
        expect(await titles(page)).toEqual(["A second conversation", "What is on the screen?"]);
        expect(await page.locator("#log").innerHTML()).toBe(before);
        expect(await page.locator(".turn.assistant .text").innerHTML()).toBe(await rendered(page, answers[1]!));
        // The other one, image and all.
        await page.locator("#chats .open", { hasText: "What is on the screen?" }).click();
        await until(() => page.locator("#chats [aria-current=true]").textContent()).toBe("What is on the screen?");
        expect(await focused(page)).toBe("input");
        const url = `data:image/png;base64,${readFileSync(png).toString("base64")}`;
        expect(await page.locator(".turn.user img.thumb").getAttribute("src")).toBe(url);
        expect(await page.locator(".turn.user img.thumb").evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(320);
        expect(await page.locator(".turn.user .text").textContent()).toBe("What is on the screen?");
        expect(await page.locator(".turn.assistant .text").innerHTML()).toBe(await rendered(page, answers[0]!));
        expect(await page.locator(".turn.assistant .stats").textContent()).toMatch(/^\d+ prompt tokens/);
        // It goes on where it stopped: the next request carries its history, the image included.
        await page.fill("#input", "And now?");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        expect(bodies[2].messages).toEqual([
            {
                role: "user",
                content: [
                    { type: "image_url", image_url: { url } },
                    { type: "text", text: "What is on the screen?" },
                ],
            },
            { role: "assistant", content: answers[0] },
            { role: "user", content: "And now?" },
        ]);
        expect(await titles(page)).toEqual(["What is on the screen?", "A second conversation"]);

        // Rename: the name box takes the focus; Escape keeps the old name, Enter the new one.
        await page.click('#chats [aria-label="Rename “What is on the screen?”"]');
        expect(await page.evaluate(() => document.activeElement?.className)).toBe("rename");
        await page.keyboard.type("ignored");
        await page.keyboard.press("Escape");
        expect(await titles(page)).toEqual(["What is on the screen?", "A second conversation"]);
        await page.click('#chats [aria-label="Rename “What is on the screen?”"]');
        await page.fill("#chats input.rename", "  The screenshot  ");
        await page.keyboard.press("Enter");
        await until(() => titles(page)).toEqual(["The screenshot", "A second conversation"]);
        // The list may show the new name (the store's write) before the renamed entry takes the focus.
        await until(() => page.evaluate(() => document.activeElement?.textContent)).toBe("The screenshot");
        await page.reload();
        await ready(page);
        expect(await titles(page)).toEqual(["The screenshot", "A second conversation"]);
        expect(await page.locator(".turn.user img.thumb").count()).toBe(1); // still the open one
        expect(await stored(page)).toEqual({ chats: 2, turns: 2 });

        // Delete asks first (Cancel is the default), then removes the conversation and its images.
        await page.click('#chats [aria-label="Delete “The screenshot”"]');
        const confirm = page.locator("#confirm-dialog");
        expect(await confirm.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
        expect(await focused(page)).toBe("confirm-cancel");
        await page.keyboard.press("Escape");
        expect(await confirm.evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
        expect(await titles(page)).toEqual(["The screenshot", "A second conversation"]);
        await page.click('#chats [aria-label="Delete “The screenshot”"]');
        await page.click("#confirm-ok");
        await until(() => titles(page)).toEqual(["A second conversation"]);
        // The open one was deleted: the next one opens, and has the focus in the list.
        expect(await page.locator(".turn.user .text").textContent()).toBe("A second conversation");
        await until(() => page.evaluate(() => document.activeElement?.textContent)).toBe("A second conversation");
        expect(await stored(page)).toEqual({ chats: 1, turns: 1 });
        await page.reload();
        await ready(page);
        expect(await titles(page)).toEqual(["A second conversation"]);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("on a server whose context is below the default longest answer, the default comes down to it and messages go", async () => {
        const small = await startServer([...CPU, "--ctx-size", "1024", "--no-access-log"]);
        try {
            const o = await open(small),
                { page, context, bodies, problems } = o;
            await ready(page);
            expect(await page.inputValue("#max-tokens")).toBe("1024"); // the slot's context, not 2,048
            await page.fill("#input", "Hello");
            await page.keyboard.press("Enter");
            const answer = await lastAnswer(page);
            expect(await answer.locator(".error").count()).toBe(0);
            expect(bodies[0].max_tokens).toBe(1024);
            expect(problems).toEqual([]);
            await context.close();
        } finally {
            expect(await small.stop(), small.stderr()).toBe(0);
        }
    });

    it("settings: system prompt, temperature, max tokens and thinking reach the server, which honours them; they persist; a bad value is refused", async () => {
        const o = await open(server),
            { page, context, sent, bodies, problems } = o;
        await ready(page);
        await page.click("#settings-toggle");
        expect(await focused(page)).toBe("system-prompt");
        // The defaults: no system prompt, the model's temperature, 2,048 tokens at most, thinking on.
        expect({
            system: await page.inputValue("#system-prompt"),
            temperature: await page.inputValue("#temperature"),
            maxTokens: await page.inputValue("#max-tokens"),
            thinking: await page.isChecked("#thinking"),
        }).toEqual({ system: "", temperature: "", maxTokens: "2048", thinking: true });
        await page.click("#settings-close");
        expect(await focused(page)).toBe("settings-toggle");

        await settle(page, { system: "You answer in one short line.", temperature: "0.3", maxTokens: "12", thinking: false });
        o.answers("settings");
        await page.fill("#input", "Describe the weather.");
        await page.keyboard.press("Enter");
        const answer = await lastAnswer(page);
        await requests(o, 1);
        // The body the server received: the page's fields, untouched by the test's shape.
        expect(sent[0]!.received).toMatchObject({
            messages: [
                { role: "system", content: "You answer in one short line." },
                { role: "user", content: "Describe the weather." },
            ],
            temperature: 0.3,
            max_tokens: 12,
            chat_template_kwargs: { enable_thinking: false },
        });
        expect(sent[0]!.received.temperature).toBe(sent[0]!.body.temperature);
        expect(sent[0]!.received.max_tokens).toBe(sent[0]!.body.max_tokens);
        // And honoured: the answer ended at 12 tokens because of the limit.
        expect(sent[0]!.deltas.usage?.completion_tokens).toBe(12);
        expect(sent[0]!.deltas.finish).toBe("length");
        expect(await answer.locator(".stats").textContent()).toMatch(/ · 12 tokens$/);

        // Kept across a reload.
        await page.reload();
        await ready(page);
        await page.click("#settings-toggle");
        expect({
            system: await page.inputValue("#system-prompt"),
            temperature: await page.inputValue("#temperature"),
            maxTokens: await page.inputValue("#max-tokens"),
            thinking: await page.isChecked("#thinking"),
        }).toEqual({ system: "You answer in one short line.", temperature: "0.3", maxTokens: "12", thinking: false });

        // A bad value is marked, and nothing is sent until it is fixed.
        await page.fill("#max-tokens", "0");
        expect(await page.getAttribute("#max-tokens", "aria-invalid")).not.toBeNull();
        await page.fill("#temperature", "3");
        expect(await page.getAttribute("#temperature", "aria-invalid")).not.toBeNull();
        await page.click("#settings-close");
        await page.fill("#input", "Not sent");
        await page.keyboard.press("Enter");
        expect(await page.locator("#status").textContent()).toMatch(/Temperature.*no valid value/);
        expect(await focused(page)).toBe("temperature");
        expect(bodies.length).toBe(1);
        // Defaults puts everything back; an empty temperature is the model's own (not sent).
        await page.click("#settings-reset");
        expect(await page.inputValue("#max-tokens")).toBe("2048");
        expect(await page.getAttribute("#max-tokens", "aria-invalid")).toBeNull();
        await page.click("#settings-close");
        o.answers("short");
        await page.click("#send");
        await lastAnswer(page);
        expect(bodies[1]).toMatchObject({ max_tokens: 2048, chat_template_kwargs: { enable_thinking: true } });
        expect(bodies[1]).not.toHaveProperty("temperature");
        expect(bodies[1].messages[0]).toEqual({ role: "user", content: "Describe the weather." });
        expect(problems).toEqual([]);
        await context.close();
    });

    it("answers are markdown with code blocks, rendered safely: hostile markup and links stay inert", async () => {
        const o = await open(server),
            { page, context, sent, problems } = o;
        await context.grantPermissions(["clipboard-read", "clipboard-write"]);
        await ready(page);
        await settle(page, { thinking: false });
        o.answers("hostile");
        await page.fill("#input", "Summarise the page you read.");
        await page.keyboard.press("Enter");
        const answer = await lastAnswer(page);
        await requests(o, 1);
        expect(sent[0]!.deltas.content.join("")).toBe(HOSTILE); // the grammar made the model say exactly this
        const text = answer.locator(".text");
        expect(await text.innerHTML()).toBe(await rendered(page, HOSTILE));
        expect(await text.locator("h1").textContent()).toBe("Report");
        expect(await text.locator("strong").textContent()).toBe("bold");
        expect(await text.locator("em").textContent()).toBe("italic");
        expect(await text.locator("p > code").textContent()).toBe("inline code");
        expect(await text.locator("ol > li").allTextContents()).toEqual(["first", "second"]);
        expect(await text.locator(".code .code-bar span").textContent()).toBe("js");
        expect(await text.locator(".code pre code.language-js").textContent()).toBe("const x = 1 < 2;\n");
        // The markup is shown as the text it is; nothing of it became an element or ran.
        expect(await text.textContent()).toContain(`<img src=x onerror="window.__pwned='img'">`);
        expect(await text.textContent()).toContain("<script>window.__pwned='script'</script>");
        expect(await text.locator("img, script, iframe, svg, style, form, input").count()).toBe(0);
        expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
        // Links: a javascript: one keeps its words and loses its target; the image is a link (not loaded); web links open apart.
        const links = await text
            .locator("a")
            .evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute("href"), a.getAttribute("target"), a.getAttribute("rel")]));
        expect(links).toEqual([
            ["a script link", null, null, null],
            ["tracker", "https://tracker.example/pixel.png", "_blank", "noopener noreferrer nofollow"],
            ["the docs", "https://example.com/docs", "_blank", "noopener noreferrer nofollow"],
        ]);
        expect(await text.textContent()).toContain("a raw anchor</a>"); // raw HTML anchors are text too
        await text.locator("a", { hasText: "a script link" }).click();
        expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
        await answer.screenshot({ path: join(artifacts, "webui-markdown.png") });
        // The code block's Copy gives the code.
        await text.locator(".copy-code").click();
        await until(() => page.locator("#status").textContent()).toBe("the code is copied");
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("const x = 1 < 2;\n");

        // The renderer against a list of known tricks, each in the page's document: only the elements
        // and links an answer needs, no event handler, no script, nothing that loads.
        await withRenderer(page);
        const verdicts = await page.evaluate(
            (payloads) => {
                const renderMarkdown = (window as any).__renderMarkdown;
                (window as any).alert = () => {
                    (window as any).__pwned = "alert";
                };
                const allowed = new Set(
                    "P BR HR H1 H2 H3 H4 H5 H6 STRONG EM DEL CODE PRE BLOCKQUOTE UL OL LI A TABLE THEAD TBODY TR TH TD DIV SPAN BUTTON".split(
                        " ",
                    ),
                );
                return payloads.map((p: string) => {
                    const box = document.createElement("div");
                    box.append(renderMarkdown(p));
                    document.body.append(box);
                    const bad: string[] = [];
                    for (const e of box.querySelectorAll("*")) {
                        if (!allowed.has(e.tagName)) bad.push(`element ${e.tagName}`);
                        for (const a of e.attributes) {
                            if (/^on/i.test(a.name) || a.name === "style" || a.name === "src")
                                bad.push(`${e.tagName} ${a.name}=${a.value}`);
                            if (a.name === "href" && !/^(https?|mailto):/i.test(a.value)) bad.push(`href ${a.value}`);
                        }
                    }
                    box.remove();
                    return { p, bad };
                });
            },
            [
                "<img src=x onerror=alert(1)>",
                "<svg onload=alert(1)>",
                "<svg><script>alert(1)</script></svg>",
                "<iframe src=javascript:alert(1)></iframe>",
                "<details open ontoggle=alert(1)>x</details>",
                "<form action=javascript:alert(1)><button>x</button></form>",
                "<input autofocus onfocus=alert(1)>",
                "<style>body{display:none}</style>",
                "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
                '<a href="javascript:alert(1)">a</a>',
                "[x](javascript:alert(1))",
                "[x](JaVaScRiPt:alert(1))",
                "[x](&#106;avascript:alert(1))",
                "[x](java\tscript:alert(1))",
                "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
                "[x](vbscript:msgbox(1))",
                "[x](//evil.example/)",
                "[x](/v1/models)",
                "<javascript:alert(1)>",
                "![x](javascript:alert(1))",
                '![x](https://ok.example/a.png" onerror="alert(1))',
                '[x](https://ok.example "t" onmouseover=alert(1))',
                "```\n</code></pre><img src=x onerror=alert(1)>\n```",
                "- [x] done\n- [ ] not yet",
            ],
        );
        expect(verdicts.filter((v) => v.bad.length > 0)).toEqual([]);
        expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
        expect(problems).toEqual([]); // no CSP or Trusted Types violation
        await context.close();
    });

    it("copy, edit-and-resend and regenerate", async () => {
        const o = await open(server),
            { page, context, sent, bodies, problems } = o;
        await context.grantPermissions(["clipboard-read", "clipboard-write"]);
        await ready(page);
        await settle(page, { thinking: false });
        const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
        await page.fill("#input", "The first question");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        await page.fill("#input", "The second question");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        await requests(o, 2);
        const [a1, a2] = sent.map((x) => x.deltas.content.join(""));

        // Copy: an answer's own text (its markdown source), a message's text; the focus stays on the button.
        const assistant = page.locator(".turn.assistant");
        await assistant.nth(0).locator("[data-action=copy]").click();
        await until(() => page.locator("#status").textContent()).toBe("the answer is copied");
        expect(await clipboard()).toBe(a1);
        expect(await focused(page)).toBe("copy");
        await page.locator(".turn.user").nth(1).locator("[data-action=copy]").click();
        await until(() => page.locator("#status").textContent()).toBe("your message is copied");
        expect(await clipboard()).toBe("The second question");

        // Regenerate: offered on the last answer only; the same history goes again, and the new answer replaces the old.
        expect(await assistant.nth(0).locator("[data-action=regenerate]").isHidden()).toBe(true);
        o.answers("reseeded");
        await assistant.nth(1).locator("[data-action=regenerate]").click();
        await lastAnswer(page);
        await requests(o, 3);
        expect(bodies[2].messages).toEqual(bodies[1].messages);
        const a3 = sent[2]!.deltas.content.join("");
        expect(a3).not.toBe(a2); // another seed, another answer
        expect(await assistant.count()).toBe(2);
        expect(await assistant.nth(1).locator(".text").innerHTML()).toBe(await rendered(page, a3));
        expect(await focused(page)).toBe("input");
        await assistant.nth(1).locator("[data-action=copy]").click();
        await until(clipboard).toBe(a3);

        // Edit the first message: the box says what it replaces; Send asks again from there.
        await page.locator(".turn.user").nth(0).locator("[data-action=edit]").click();
        expect(await page.evaluate(() => document.activeElement?.className)).toBe("edit-input");
        expect(await page.locator(".edit .note").textContent()).toBe("Sending replaces the 3 messages after this one.");
        await page.fill(".edit-input", "The first question, put better");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        await requests(o, 4);
        expect(bodies[3].messages).toEqual([{ role: "user", content: "The first question, put better" }]);
        expect(await page.locator(".turn").count()).toBe(2);
        expect(await page.locator(".turn.user .text").textContent()).toBe("The first question, put better");
        expect(await focused(page)).toBe("input");
        // Kept so.
        await page.reload();
        await ready(page);
        expect(await page.locator(".turn").count()).toBe(2);
        expect(await page.locator(".turn.user .text").textContent()).toBe("The first question, put better");
        expect(await page.locator(".turn.assistant .text").innerHTML()).toBe(await rendered(page, sent[3]!.deltas.content.join("")));
        // Edit and Regenerate wait while an answer streams.
        o.answers("long");
        await page.fill("#input", "A long one");
        await page.keyboard.press("Enter");
        const streaming = page.locator(".turn.assistant").last();
        await until(async () => (await streaming.locator(".text").textContent())!.length).toBeGreaterThan(0);
        expect(await page.locator("[data-action=edit]").evaluateAll((bs) => bs.map((b) => (b as HTMLButtonElement).disabled))).toEqual([
            true,
            true,
        ]);
        await page.click("#stop");
        await until(() => streaming.getAttribute("aria-busy")).toBe("false");
        expect(await page.locator("[data-action=edit]").evaluateAll((bs) => bs.map((b) => (b as HTMLButtonElement).disabled))).toEqual([
            false,
            false,
        ]);
        await until(() => metric(server, "autoglm_slots_busy")).toBe(0);
        expect(problems).toEqual([]);
        await context.close();
    });

    it("on a phone: the list and the settings open over the chat and close again", async () => {
        const o = await open(server, { width: 390, height: 844 }),
            { page, context, problems } = o;
        await ready(page);
        expect(await page.locator("#sidebar").isVisible()).toBe(false);
        await page.fill("#input", "A phone question");
        await page.keyboard.press("Enter");
        await lastAnswer(page);
        await page.click("#chats-toggle");
        expect(await page.locator("#chats-toggle").getAttribute("aria-expanded")).toBe("true");
        expect(await page.locator("#sidebar").isVisible()).toBe(true);
        expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("A phone question");
        await page.screenshot({ path: join(artifacts, "webui-phone-chats.png") });
        // Escape closes it, back to its button; New chat from it closes it too.
        await page.keyboard.press("Escape");
        expect(await page.locator("#sidebar").isVisible()).toBe(false);
        expect(await focused(page)).toBe("chats-toggle");
        await page.click("#chats-toggle");
        await page.click("#new-chat");
        expect(await page.locator("#sidebar").isVisible()).toBe(false);
        expect(await focused(page)).toBe("input");
        await page.click("#chats-toggle");
        await page.locator("#chats .open", { hasText: "A phone question" }).click();
        await until(() => page.locator("#sidebar").isVisible()).toBe(false);
        expect(await page.locator(".turn").count()).toBe(2);
        await page.click("#settings-toggle");
        expect(await page.locator("#settings").isVisible()).toBe(true);
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
        await page.screenshot({ path: join(artifacts, "webui-phone-settings.png") });
        await page.keyboard.press("Escape");
        expect(await page.locator("#settings").isVisible()).toBe(false);
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
            await page.fill("#input", "An earlier conversation");
            await page.keyboard.press("Enter");
            await lastAnswer(page);
            await page.click(viewport.width < 700 ? "#chats-toggle" : "#new-chat");
            if (viewport.width < 700) await page.click("#new-chat");
            o.answers("thinking");
            await page.setInputFiles("#image-file", png);
            await page.fill("#input", "What is on the screen?");
            await page.click("#send");
            await lastAnswer(page);
            await settle(page, { thinking: false });
            o.answers("markdown");
            await page.fill("#input", "How do I tap the button?");
            await page.keyboard.press("Enter");
            await lastAnswer(page);
            await page.locator(".turn.assistant .thinking summary").first().click();
            await page.fill("#input", "A draft of the next question");
            // The page fits the phone's width: nothing scrolls sideways.
            expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
            await page.screenshot({ path: join(artifacts, name) });
            expect(problems).toEqual([]);
            await context.close();
        }
    });
});
