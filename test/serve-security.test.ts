// The server's security rules through real HTTP against the real `autoglm serve` (docs/server-contract.md,
// "Security"): the Host check on every route (and in Chromium), local media confined to one folder,
// remote media without server-side request forgery, the numeric fields, the answer and request-time
// limits, per-client fairness, tenant-isolated caches, the start-up warnings and /v1/models without
// paths. Nothing here is timed beyond watchdogs that tell a hang from an answer.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostAllowed, hostOf } from "../src/server/host-check.js";
import { publicAddress } from "../src/server/remote-media.js";
import { BROWSER_ARGS, CHROMIUM, haveBrowser } from "./helpers/browser.js";
import { BIN, ROOT, runCli } from "./helpers/cli.js";
import { writeTestPng } from "./helpers/media.js";
import { convert, synthesize } from "./helpers/models.js";
import { startServer, type RunningServer } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("security");
const media = join(root, "media");
let files: Record<string, string>;
let png: Buffer;
const servers: RunningServer[] = [];
/** The server most rules are checked on (no key; local and remote media allowed; small limits). */
let main: RunningServer;
/** A stand-in for the outside world that remote media reach. */
let outside: Server;
let outsidePort = 0;
let bigBytesSent = 0;
/** Watchdog for one request: far above any answer here; only a hang reaches it. */
const HANG_MS = 60_000;

async function serve(args: string[]): Promise<RunningServer> {
    const s = await startServer(["-m", files.text!, "--ctx-size", "1024", ...args]);
    servers.push(s);
    return s;
}

beforeAll(async () => {
    files = (await convert(await synthesize(join(root, "glm4v"), "glm4v"), join(root, "out"), ["--outtype", "q8_0"])).files;
    mkdirSync(join(media, "sub"), { recursive: true });
    await writeTestPng(join(media, "ok.png"), 40, 30);
    png = readFileSync(join(media, "ok.png"));
    execFileSync("mkfifo", [join(media, "fifo")]);
    symlinkSync("/etc/passwd", join(media, "link-out"));
    symlinkSync("/dev/zero", join(media, "zero"));
    writeFileSync(join(media, "huge.png"), "");
    truncateSync(join(media, "huge.png"), 100 * 2 ** 20); // sparse: 100 MiB that take no disk
    writeFileSync(join(root, "outside.png"), png); // beside the folder, not in it

    outside = createServer((req, res) => {
        const u = new URL(req.url ?? "/", "http://x");
        if (u.pathname === "/img.png") {
            res.writeHead(200, { "content-type": "image/png" }).end(png);
        } else if (u.pathname === "/redirect") {
            res.writeHead(302, { location: u.searchParams.get("to") ?? "/" }).end();
        } else if (u.pathname === "/big") {
            // 400 MiB, declared or chunked, as fast as the reader takes it.
            res.writeHead(200, u.searchParams.has("declare") ? { "content-length": 400 * 2 ** 20 } : {});
            const chunk = Buffer.alloc(1 << 20, 1);
            let n = 0;
            const pump = () => {
                while (n < 400 && !res.destroyed) {
                    n++;
                    bigBytesSent += chunk.length;
                    if (!res.write(chunk)) return void res.once("drain", pump);
                }
                res.end();
            };
            pump();
        } else if (u.pathname === "/slow") {
            res.writeHead(200, { "content-type": "image/png" }).write(png.subarray(0, 20)); // and never the rest
        } else res.writeHead(404).end("no");
    });
    await new Promise<void>((r) => outside.listen(0, "127.0.0.1", r));
    outsidePort = (outside.address() as AddressInfo).port;

    main = await serve([
        "--mmproj",
        files.vision!,
        "--parallel",
        "2",
        "--allow-local-media",
        media,
        "--allow-remote-media",
        "--media-allowed-hosts",
        "localhost",
        "--media-timeout",
        "3",
        "--max-tokens",
        "6",
        "--max-tokens-limit",
        "10",
        "--request-timeout",
        "3",
        "--allowed-hosts",
        "my.lan,.corp.example",
    ]);
}, 600_000);

afterAll(async () => {
    for (const s of servers) await s.stop();
    outside?.close();
    outside?.closeAllConnections();
});

interface Answer {
    status: number;
    body: any;
}

/** One request over node:http, which (unlike fetch) may set any Host header and the source address. */
function raw(
    url: string,
    path: string,
    o: { method?: string; host?: string; body?: unknown; key?: string; localAddress?: string } = {},
): Promise<Answer> {
    const data = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    return new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = {};
        if (o.host !== undefined) headers.host = o.host;
        if (data) {
            headers["content-type"] = "application/json";
            headers["content-length"] = data.length;
        }
        if (o.key) headers.authorization = `Bearer ${o.key}`;
        const req = request(
            `${url}${path}`,
            { method: o.method ?? (data ? "POST" : "GET"), headers, localAddress: o.localAddress, agent: false },
            (res) => {
                let text = "";
                res.on("data", (d) => {
                    text += d;
                });
                res.on("end", () => {
                    let body: unknown = text;
                    try {
                        body = JSON.parse(text);
                    } catch {
                        /* not JSON: the web page's files */
                    }
                    resolve({ status: res.statusCode ?? 0, body });
                });
            },
        );
        req.setTimeout(HANG_MS, () => req.destroy(new Error(`no answer within ${HANG_MS} ms: a hang`)));
        req.on("error", reject);
        req.end(data);
    });
}

const imageMessage = (url: string) => [
    {
        role: "user",
        content: [
            { type: "image_url", image_url: { url } },
            { type: "text", text: "What is it?" },
        ],
    },
];
const askImage = (s: RunningServer, url: string) =>
    raw(s.url, "/v1/chat/completions", { body: { max_tokens: 1, temperature: 0, messages: imageMessage(url) } });
const dataUrl = () => `data:image/png;base64,${png.toString("base64")}`;
const ask = (s: RunningServer, extra: Record<string, unknown> = {}, key?: string, path = "/v1/chat/completions") =>
    raw(s.url, path, {
        key,
        body:
            path.endsWith("/completions") && !path.includes("chat")
                ? { prompt: "Hello", ...extra }
                : { messages: [{ role: "user", content: "Hello" }], ...extra },
    });

/** The server's resident memory in bytes (Linux). */
function rss(s: RunningServer): number {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.child.pid}/status`, "utf8"))![1]!;
    return Number(kb) * 1024;
}
const metric = async (s: RunningServer, name: string, key?: string) =>
    Number(
        new RegExp(`^${name} (\\S+)$`, "m").exec(
            await (await fetch(`${s.url}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} })).text(),
        )![1],
    );

describe("the Host check (DNS rebinding)", () => {
    const ROUTES: [string, string, unknown?][] = [
        ["GET", "/"],
        ["GET", "/webui/app.js"],
        ["GET", "/health"],
        ["GET", "/metrics"],
        ["GET", "/v1/models"],
        ["GET", "/v1/models/autoglm-phone-9b"],
        ["POST", "/v1/chat/completions", { max_tokens: 2, messages: [{ role: "user", content: "hi" }] }],
        ["POST", "/v1/completions", { max_tokens: 2, prompt: "hi" }],
        ["GET", "/no-such-route"],
        ["OPTIONS", "/v1/chat/completions"],
    ];

    it("a forged Host is a 403 on every route, the page and /health included, and no completion runs", async () => {
        const port = new URL(main.url).port;
        const before = await metric(main, "autoglm_requests_total");
        for (const host of [
            "evil.example",
            `evil.example:${port}`,
            "127.0.0.1.nip.io",
            "localhost.evil.example",
            "0.0.0.0",
            "10.1.2.3",
            "[::2]:1",
            "a@127.0.0.1",
        ]) {
            for (const [method, path, body] of ROUTES) {
                const r = await raw(main.url, path, { method, host, body });
                expect(r.status, `${method} ${path} Host ${JSON.stringify(host)}`).toBe(403);
                expect(r.body.error.code).toBe("host_not_allowed");
            }
        }
        expect(await metric(main, "autoglm_requests_total")).toBe(before); // refused before any work
    });

    it("loopback names and addresses, *.localhost, the bound address and --allowed-hosts pass", async () => {
        const port = new URL(main.url).port;
        for (const host of [
            `127.0.0.1:${port}`,
            `localhost:${port}`,
            "LOCALHOST",
            "localhost.",
            "app.localhost",
            `[::1]:${port}`,
            "127.0.0.2",
            "my.lan:80",
            "corp.example",
            "a.b.corp.example",
        ]) {
            expect((await raw(main.url, "/health", { host })).status, host).toBe(200);
            expect((await raw(main.url, "/v1/models", { host })).status, host).toBe(200);
        }
        expect((await raw(main.url, "/health", { host: "other.lan" })).status).toBe(403);
        expect((await raw(main.url, "/health", { host: "corp.example.evil" })).status).toBe(403);
    });

    it("the rule's spellings: ports, brackets, case, a final dot; a name that only looks local is refused", () => {
        const p = { bound: "127.0.0.1", allowed: [] };
        const pass = (h: string, local?: string) => hostAllowed(hostOf(h)!, p, local);
        expect(hostOf("Example.COM.:8000")).toBe("example.com");
        expect(hostOf("[::1]:8000")).toBe("::1");
        expect(hostOf("a b")).toBeUndefined();
        expect(hostOf("x@127.0.0.1")).toBeUndefined();
        expect(pass("127.255.0.1")).toBe(true);
        expect(pass("[::ffff:127.0.0.1]")).toBe(true);
        expect(pass("localhost.example")).toBe(false);
        expect(pass("127.0.0.1.example")).toBe(false);
        expect(pass("192.168.1.5", "::ffff:192.168.1.5")).toBe(true); // the address the connection came in on
        expect(pass("192.168.1.6", "::ffff:192.168.1.5")).toBe(false);
        expect(hostAllowed("myhost", { bound: "MyHost", allowed: [] }, undefined)).toBe(true);
        expect(hostAllowed("anything.example", { bound: "127.0.0.1", allowed: ["*"] }, undefined)).toBe(true);
    });

    it.skipIf(!haveBrowser)(
        "Chromium: the page loads and chats same-origin; the same page reached through a rebound name gets 403",
        { timeout: 300_000 },
        async () => {
            const port = new URL(main.url).port;
            // rebound.test resolves to 127.0.0.1 in this browser, as an attacker's name does after rebinding.
            const browser = await chromium.launch({
                executablePath: CHROMIUM,
                args: [...BROWSER_ARGS, "--host-resolver-rules=MAP rebound.test 127.0.0.1"],
            });
            try {
                for (const origin of [main.url, `http://localhost:${port}`]) {
                    const page = await browser.newPage();
                    const problems: string[] = [];
                    page.on("pageerror", (e) => problems.push(e.message));
                    const res = await page.goto(`${origin}/`);
                    expect(res!.status(), origin).toBe(200);
                    await page.waitForSelector("body[data-ready=true]", { timeout: 120_000 });
                    await page.fill("#input", "Hello");
                    await page.click("#send");
                    const turn = page.locator(".turn.assistant").last();
                    await expect.poll(() => turn.getAttribute("aria-busy"), { timeout: 240_000, interval: 100 }).toBe("false");
                    expect(await turn.locator(".error").count(), origin).toBe(0);
                    expect(problems).toEqual([]);
                    await page.close();
                }
                const page = await browser.newPage();
                const res = await page.goto(`http://rebound.test:${port}/`);
                expect(res!.status()).toBe(403);
                const api = await page.evaluate(async () => (await fetch("/v1/models")).status);
                expect(api).toBe(403);
                await page.close();
            } finally {
                await browser.close();
            }
        },
    );
});

describe("local media: one folder, regular files only", () => {
    it("/dev/zero, FIFOs, a link to a device, `..`, a symlink out, file:///etc/passwd, /proc, a folder, a missing file and an oversized one: the same 400, at once, with no memory growth; then images answer", async () => {
        const before = rss(main);
        const refusals = [
            "/dev/zero",
            join(media, "zero"),
            join(media, "fifo"),
            join(media, "link-out"),
            `${media}/../outside.png`,
            `${media}/sub/../../outside.png`,
            "./../outside.png",
            "file:///etc/passwd",
            `file://${media}/%2e%2e/outside.png`,
            "/proc/self/environ",
            join(media, "sub"),
            join(media, "missing.png"),
            join(media, "huge.png"),
        ];
        const messages = new Set<string>();
        for (const ref of refusals) {
            const r = await askImage(main, ref);
            expect(r.status, ref).toBe(400);
            expect(r.body.error.code, ref).toBe("local_media_refused");
            messages.add(r.body.error.message.replace(JSON.stringify(ref), "REF"));
        }
        expect([...messages]).toHaveLength(1); // a path that exists is refused as one that does not
        // More FIFOs at once than libuv has threads: none blocks one, so a data: image still answers.
        const fifos = await Promise.all(Array.from({ length: 8 }, () => askImage(main, join(media, "fifo"))));
        expect(fifos.map((r) => r.status)).toEqual(Array(8).fill(400));
        expect((await askImage(main, dataUrl())).status).toBe(200);
        for (const ok of [join(media, "ok.png"), "./ok.png", `file://${media}/ok.png`, "file://ok.png", `${media}/sub/../ok.png`])
            expect((await askImage(main, ok)).status, ok).toBe(200);
        expect(rss(main) - before).toBeLessThan(150 * 2 ** 20); // /dev/zero once grew the server by 7 GB
    });

    it("--allow-local-media without a folder is an error that says so", async () => {
        const r = await runCli(["serve", "--port", "0", "-m", files.text!, "--allow-local-media"]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/--allow-local-media now takes a folder: --allow-local-media DIR/);
        const f = await runCli(["serve", "--port", "0", "-m", files.text!, "--allow-local-media", join(media, "ok.png")]);
        expect(f.code).toBe(1);
        expect(f.stderr).toMatch(/is not a folder/);
    });
});

describe("remote media: no server-side request forgery", () => {
    const at = (host: string, path: string) => `http://${host}:${outsidePort}${path}`;

    it("loopback, private, link-local and unspecified destinations are refused, directly or through a redirect; an allowed host is fetched", async () => {
        expect((await askImage(main, at("localhost", "/img.png"))).status).toBe(200); // --media-allowed-hosts localhost
        expect((await askImage(main, at("localhost", `/redirect?to=${encodeURIComponent(at("localhost", "/img.png"))}`))).status).toBe(200);
        const unreachable = new Set<string>();
        for (const url of [
            at("127.0.0.1", "/img.png"),
            at("localhost", `/redirect?to=${encodeURIComponent(at("127.0.0.1", "/img.png"))}`),
            at("localhost", `/redirect?to=${encodeURIComponent("http://169.254.169.254/latest/meta-data")}`),
            at("localhost", `/redirect?to=${encodeURIComponent("file:///etc/passwd")}`),
            at("[::1]", "/img.png"),
            at("[::ffff:127.0.0.1]", "/img.png"),
            at("0.0.0.0", "/img.png"),
            at("2130706433", "/img.png"),
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "http://192.168.1.1/",
            "http://[fe80::1]/",
            // Not a port scanner: a closed port, a 404 and a name that does not resolve say the same.
            at("localhost", "/no-such-file"),
            `http://localhost:${await closedPort()}/`,
            "http://nonexistent.invalid/x.png",
        ]) {
            const r = await askImage(main, url);
            expect(r.status, url).toBe(400);
            expect(r.body.error.code, url).toBe("remote_media_unavailable");
            unreachable.add(r.body.error.message);
        }
        expect([...unreachable]).toHaveLength(1);
        expect(main.stderr()).toMatch(/remote media http:\/\/127\.0\.0\.1:\d+\/img\.png: 127\.0\.0\.1 is not a public address/); // the operator sees why
    });

    it("a 400 MiB body is refused while it downloads (declared or not), without buffering it; a stalled body is its own 4xx; a data: image answers after", async () => {
        const before = rss(main);
        for (const path of ["/big", "/big?declare"]) {
            bigBytesSent = 0;
            const r = await askImage(main, at("localhost", path));
            expect(r.status, path).toBe(400);
            expect(r.body.error.code).toBe("remote_media_too_large");
            expect(bigBytesSent, path).toBeLessThan(200 * 2 ** 20); // it stopped reading near the 64 MiB cap
        }
        expect(rss(main) - before).toBeLessThan(300 * 2 ** 20); // the cap's 64 MiB, not 400 MiB three times over
        const slow = await askImage(main, at("localhost", "/slow"));
        expect(slow.status).toBe(400);
        expect(slow.body.error.code).toBe("remote_media_timeout");
        expect((await askImage(main, dataUrl())).status).toBe(200);
    });

    it("the address rule: only public unicast addresses, IPv4-mapped ones judged as IPv4", () => {
        for (const a of [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ])
            expect(publicAddress(a), a).toBe(false);
        for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) expect(publicAddress(a), a).toBe(true);
    });
});

/** A port nothing listens on (one just closed). */
async function closedPort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
}

describe("numeric fields and limits", () => {
    it("seed -1 is random, other seeds modulo 2^32; a seed JSON cannot carry exactly, a top_k past 2^31 are 400s, never 500s; both endpoints", async () => {
        for (const path of ["/v1/chat/completions", "/v1/completions"]) {
            const cases: [Record<string, unknown>, number, string?][] = [
                [{ seed: -1 }, 200],
                [{ seed: 0 }, 200],
                [{ seed: 4294967295 }, 200],
                [{ seed: 4294967296 }, 200], // reduced modulo 2^32 (docs/server-contract.md, "seed")
                [{ seed: -2 }, 200],
                [{ seed: 1.5 }, 400],
                [{ seed: 1e300 }, 400, "body/seed must be <= 9007199254740991"],
                [{ top_k: 2147483647 }, 200],
                [{ top_k: 2147483648 }, 400, "body/top_k must be <= 2147483647"],
                [{ top_k: -1 }, 400],
                [{ temperature: 1e308 }, 400],
                [{ top_p: -0.5 }, 400],
                [{ repeat_penalty: 1e38 }, 200],
                [{ repeat_penalty: 0 }, 200],
                [{ frequency_penalty: 3 }, 400],
                [{ max_tokens: 0 }, 400],
                [{ max_tokens: 1e300 }, 200],
                [{ logit_bias: { "1": 5 } }, 200], // honoured (docs/server-contract.md, "logit_bias")
                [{ logit_bias: { "1": 101 } }, 400],
                [{ logit_bias: { "99999999": 1 } }, 400, "outside the model's vocabulary"],
                [{ logit_bias: {} }, 200],
                [{ logit_bias: null }, 200],
            ];
            for (const [fields, status, message] of cases) {
                const r = await ask(main, { max_tokens: 2, ...fields }, undefined, path);
                expect(r.status, `${path} ${JSON.stringify(fields)}: ${JSON.stringify(r.body)}`).toBe(status);
                if (message) expect(r.body.error.message).toContain(message);
                if (status === 400) expect(r.body.error.type).toBe("invalid_request_error");
            }
            // A seed past 2^32 is the seed it reduces to: the same sampled answer.
            const sampled = async (seed: number) => (await ask(main, { temperature: 1, seed }, undefined, path)).body.choices[0];
            const [small, large] = [await sampled(5), await sampled(2 ** 32 + 5)];
            expect(large.text ?? large.message.content).toBe(small.text ?? small.message.content);
        }
    });

    it("max_tokens: the server's default when a request names none (-n), its maximum when it asks for more", async () => {
        const unasked = await ask(main, { ignore_eos: true });
        expect(unasked.body.usage.completion_tokens).toBe(6); // --max-tokens 6
        const greedy = await ask(main, { ignore_eos: true, max_tokens: 1_000_000 });
        expect(greedy.body.usage.completion_tokens).toBe(10); // clamped to --max-tokens-limit 10
        expect(greedy.body.choices[0].finish_reason).toBe("length");
        const modest = await ask(main, { ignore_eos: true, max_tokens: 3 });
        expect(modest.body.usage.completion_tokens).toBe(3);
    });

    it("a request whose body stalls half-sent, or whose headers never end, gets 408 and is disconnected", async () => {
        const port = Number(new URL(main.url).port);
        for (const sent of [
            'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"messages":',
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: appl",
        ]) {
            const got = await new Promise<{ text: string; closed: boolean }>((resolve) => {
                const socket = connect(port, "127.0.0.1", () => socket.write(sent));
                let text = "";
                const watchdog = setTimeout(() => {
                    socket.destroy();
                    resolve({ text, closed: false });
                }, HANG_MS);
                socket.on("data", (d) => {
                    text += d;
                });
                socket.on("error", () => {});
                socket.on("close", () => {
                    clearTimeout(watchdog);
                    resolve({ text, closed: true });
                });
            });
            expect(got.closed).toBe(true);
            expect(got.text).toMatch(/^HTTP\/1\.1 408 /);
            expect(got.text).toContain('"code":"request_timeout"');
        }
        expect((await ask(main, { max_tokens: 2 })).status).toBe(200);
    });

    it("a 400 MiB request body without a length is refused at the body limit without being held", async () => {
        const before = rss(main);
        const status = await new Promise<number>((resolve, reject) => {
            const req = request(
                `${main.url}/v1/chat/completions`,
                { method: "POST", headers: { "content-type": "application/json" }, agent: false },
                (res) => {
                    answered = true;
                    res.resume();
                    resolve(res.statusCode ?? 0);
                },
            );
            // After its answer the server may stop reading; before it, a reset means the answer was lost.
            let answered = false;
            req.on("error", (e) => {
                if (!answered) reject(new Error(`the connection failed before the answer: ${e.message}`));
            });
            req.setTimeout(HANG_MS, () => reject(new Error("no answer to the 400 MiB body")));
            const chunk = Buffer.alloc(1 << 20, 0x20);
            let sent = 0;
            const pump = () => {
                while (sent < 400 && !req.destroyed) {
                    sent++;
                    if (!req.write(chunk)) return void req.once("drain", pump);
                }
                req.end();
            };
            pump();
        });
        expect(status).toBe(413);
        expect(rss(main) - before).toBeLessThan(150 * 2 ** 20);
    });
});

/** A chat stream that does not end by itself; resolves once it is accepted. */
async function longStream(s: RunningServer, o: { key?: string; localAddress?: string; n?: number } = {}) {
    const events: string[] = [];
    let started = false;
    const ctl = { req: undefined as ReturnType<typeof request> | undefined, status: 0 };
    const accepted = new Promise<number>((resolve, reject) => {
        const body = Buffer.from(
            // Letters only (no <|observation|>, which ends a turn even with ignore_eos), in a context far longer than the test.
            JSON.stringify({
                stream: true,
                ignore_eos: true,
                max_tokens: 100_000,
                n: o.n ?? 1,
                grammar: "root ::= [a-z ]*",
                messages: [{ role: "user", content: "Go on forever." }],
            }),
        );
        const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": body.length };
        if (o.key) headers.authorization = `Bearer ${o.key}`;
        ctl.req = request(
            `${s.url}/v1/chat/completions`,
            { method: "POST", headers, localAddress: o.localAddress, agent: false },
            (res) => {
                ctl.status = res.statusCode ?? 0;
                resolve(ctl.status);
                res.on("data", (d: Buffer) => {
                    events.push(d.toString());
                    if (/"content":"[^"]+"/.test(d.toString())) started = true;
                });
                res.on("error", () => {});
            },
        );
        ctl.req.on("error", (e) => (ctl.status ? undefined : reject(e)));
        ctl.req.end(body);
    });
    const status = await accepted;
    return {
        status,
        text: () => events.join(""),
        started: () => started,
        stop: () => ctl.req?.destroy(),
    };
}

describe("per-client fairness and tenant-isolated caches", () => {
    it("per key: one client may fill the slot and half the queue (429 beyond); a freed slot goes to the client that has none before that client's own queue", async () => {
        // 1 + 4/2 = 3 per client; a long context, so the streams that hold the slot outlast the test.
        const fair = await serve([
            "--parallel",
            "1",
            "--queue",
            "4",
            "--api-key",
            "key-a,key-b",
            "--ctx-size",
            "16384",
            "--max-tokens-limit",
            "-1",
        ]);
        const a1 = await longStream(fair, { key: "key-a" });
        await expect.poll(() => a1.started(), { timeout: HANG_MS }).toBe(true); // a1 holds the only slot
        const a2 = await longStream(fair, { key: "key-a" });
        const a3 = await longStream(fair, { key: "key-a" });
        await expect.poll(() => metric(fair, "autoglm_queue_length", "key-a"), { timeout: HANG_MS }).toBe(2);
        const a4 = await ask(fair, { max_tokens: 2 }, "key-a");
        expect(a4.status).toBe(429);
        expect(a4.body.error.code).toBe("too_many_requests");
        // Client b arrives last, and is served first once a1's slot is free.
        const b1 = raw(fair.url, "/v1/chat/completions", {
            key: "key-b",
            body: { max_tokens: 2, messages: [{ role: "user", content: "Quick?" }] },
        });
        await expect.poll(() => metric(fair, "autoglm_queue_length", "key-a"), { timeout: HANG_MS }).toBe(3);
        a1.stop();
        const b = await b1;
        expect(b.status).toBe(200);
        expect(a2.started() || a3.started()).toBe(false); // b's whole answer came before either of a's queued ones began
        await expect.poll(() => a2.started(), { timeout: HANG_MS }).toBe(true); // then a's queue, in its order
        expect(a3.started()).toBe(false);
        a2.stop();
        a3.stop();
        await expect.poll(() => metric(fair, "autoglm_slots_busy", "key-a"), { timeout: HANG_MS }).toBe(0);

        // Without --isolate-cache, b's cached_tokens tell it what a's prompt began with.
        const secret = [{ role: "user", content: "The launch code is 0000. Repeat it." }];
        await raw(fair.url, "/v1/chat/completions", { key: "key-a", body: { max_tokens: 1, messages: secret } });
        const probe = await raw(fair.url, "/v1/chat/completions", { key: "key-b", body: { max_tokens: 1, messages: secret } });
        expect(probe.body.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
    });

    it("per address without keys: a second loopback address is a client of its own", async () => {
        const s = await serve(["--parallel", "1", "--queue", "2", "--ctx-size", "16384", "--max-tokens-limit", "-1"]); // 1 + 1 per client
        const x1 = await longStream(s, { localAddress: "127.0.0.2" });
        await expect.poll(() => x1.started(), { timeout: HANG_MS }).toBe(true);
        const x2 = await longStream(s, { localAddress: "127.0.0.2" });
        const x3 = await raw(s.url, "/v1/chat/completions", {
            localAddress: "127.0.0.2",
            body: { max_tokens: 1, messages: [{ role: "user", content: "hi" }] },
        });
        expect(x3.status).toBe(429);
        const y1 = await longStream(s, { localAddress: "127.0.0.1" });
        expect(y1.status).toBe(200); // accepted: another client
        for (const x of [x1, x2, y1]) x.stop();
        await expect.poll(() => metric(s, "autoglm_slots_busy"), { timeout: HANG_MS }).toBe(0);
    });

    it("n > 1 borrows idle slots for its other choices only within its client's share", async () => {
        const args = ["--parallel", "2", "--queue", "2", "--api-key", "key-a,key-b", "--ctx-size", "16384", "--max-tokens-limit", "-1"];
        // The default share (2 + 2/2): both slots run a's two choices side by side.
        const roomy = await serve(args);
        const wide = await longStream(roomy, { key: "key-a", n: 2 });
        await expect.poll(() => wide.started(), { timeout: HANG_MS }).toBe(true);
        expect(await metric(roomy, "autoglm_slots_busy", "key-a")).toBe(2);
        wide.stop();
        await expect.poll(() => metric(roomy, "autoglm_slots_busy", "key-a"), { timeout: HANG_MS }).toBe(0);
        // One place per client: a's choices take turns on its one slot, and b finds the other idle.
        const strict = await serve([...args, "--max-client-requests", "1"]);
        const narrow = await longStream(strict, { key: "key-a", n: 2 });
        await expect.poll(() => narrow.started(), { timeout: HANG_MS }).toBe(true);
        expect(await metric(strict, "autoglm_slots_busy", "key-a")).toBe(1);
        const b = await raw(strict.url, "/v1/chat/completions", {
            key: "key-b",
            body: { max_tokens: 2, messages: [{ role: "user", content: "Quick?" }] },
        });
        expect(b.status).toBe(200);
        expect(b.body.usage.prompt_tokens_details.cached_tokens).toBe(0); // a fresh slot, not one of a's
        expect(await metric(strict, "autoglm_queue_length", "key-a")).toBe(0); // b never waited
        narrow.stop();
        await expect.poll(() => metric(strict, "autoglm_slots_busy", "key-a"), { timeout: HANG_MS }).toBe(0);
    });

    it("--isolate-cache: a key's cached prompt serves only that key (cached_tokens 0 across keys); the cost: a key whose slot another used starts over", async () => {
        const iso = await serve(["--parallel", "1", "--isolate-cache", "--api-key", "key-a,key-b"]);
        const secret = [{ role: "user", content: "The launch code is 0000. Repeat it." }];
        const cached = async (key: string) =>
            (await raw(iso.url, "/v1/chat/completions", { key, body: { max_tokens: 1, temperature: 0, messages: secret } })).body.usage
                .prompt_tokens_details.cached_tokens as number;
        expect(await cached("key-a")).toBe(0);
        expect(await cached("key-a")).toBeGreaterThan(0); // its own cache
        expect(await cached("key-b")).toBe(0); // nothing of a's
        expect(await cached("key-b")).toBeGreaterThan(0);
        expect(await cached("key-a")).toBe(0); // b took the slot: a's cache is gone
    });
});

describe("start-up warnings and what /v1/models shows", () => {
    /** Starts serve, returns its stderr once it listens (the warnings come before), and stops it. */
    const startupLines = (args: string[]) =>
        new Promise<string>((resolve) => {
            const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "-m", files.text!, ...args], {
                cwd: ROOT,
                stdio: ["ignore", "ignore", "pipe"],
            });
            let err = "";
            child.stderr.on("data", (d) => {
                err += d;
                if (/listening on /.test(err)) child.kill("SIGTERM");
            });
            child.on("close", () => resolve(err));
        });

    it("a non-loopback --host without a key and a key file others can read are warned about; a loopback host and a 0600 file are not", async () => {
        expect(await startupLines(["--host", "0.0.0.0"])).toMatch(
            /warning: --host 0\.0\.0\.0 accepts connections from other machines and no API key is set/,
        );
        const keyFile = join(root, "key.txt");
        writeFileSync(keyFile, "k1\nk2\n");
        chmodSync(keyFile, 0o644);
        expect(await startupLines(["--api-key-file", keyFile])).toMatch(
            /warning: the API key file .*key\.txt can be read by other users \(mode 644\)/,
        );
        chmodSync(keyFile, 0o600);
        const quiet = await startupLines(["--api-key-file", keyFile, "--host", "0.0.0.0"]);
        expect(quiet).not.toMatch(/warning:/);
        expect(await startupLines([])).not.toMatch(/warning:/);
    });

    it("/v1/models names the model file without its folders, and autoglm ps still shows it", async () => {
        const text = await (await fetch(`${main.url}/v1/models`)).text();
        const m = JSON.parse(text).data[0];
        expect(m.meta.file).toBe(basename(files.text!));
        expect(text).not.toContain(root);
        const ps = await runCli(["ps", "--url", main.url]);
        expect(ps.code, ps.stderr).toBe(0);
        expect(ps.stdout).toContain(`autoglm-phone-9b: ${basename(files.text!)} | glm4`);
    });
});
