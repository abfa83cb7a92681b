// serve's access log (one line per request, text and JSON) over real HTTP requests, and
// `autoglm ps` reading a running server, on the built-in demo model.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { startServer, type RunningServer } from "./helpers/server.js";

const servers: RunningServer[] = [];
afterAll(async () => {
    for (const s of servers) await s.stop();
});

async function start(args: string[]): Promise<RunningServer> {
    const s = await startServer(["--sse-ping-interval", "0", ...args], 240_000);
    servers.push(s);
    return s;
}

const chat = (stream: boolean) => ({
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
        model: "autoglm-phone-9b",
        messages: [{ role: "user", content: "Hello" }],
        max_tokens: 3,
        ignore_eos: true,
        temperature: 0,
        stream,
    }),
});

/** The access lines of a server's stderr after `from`, once `count` have appeared (the hook runs as the response finishes). */
async function accessLines(s: RunningServer, from: number, count: number, pattern: RegExp): Promise<string[]> {
    for (;;) {
        const lines = s
            .stderr()
            .slice(from)
            .split("\n")
            .filter((l) => pattern.test(l));
        if (lines.length >= count) return lines;
        await new Promise((r) => setTimeout(r, 50));
    }
}

describe("serve access log", () => {
    let text: RunningServer, json: RunningServer;
    beforeAll(async () => {
        text = await start([]);
        json = await start(["--log-format", "json", "-c", "0"]);
    }, 480_000);

    it("text: method, route, status, prompt/completion tokens and ms, one line per request (streams too)", async () => {
        const from = text.stderr().length;
        expect((await fetch(`${text.url}/v1/models`)).status).toBe(200);
        const plain = await (await fetch(`${text.url}/v1/chat/completions`, chat(false))).json();
        await (await fetch(`${text.url}/v1/chat/completions`, chat(true))).text();
        expect((await fetch(`${text.url}/v1/nothing-here`)).status).toBe(404);
        expect(
            (
                await fetch(`${text.url}/v1/chat/completions`, {
                    method: "POST",
                    headers: { "content-type": "application/json" },
                    body: "{}",
                })
            ).status,
        ).toBe(400);
        const lines = await accessLines(text, from, 5, /^\S+Z (GET|POST) /);
        expect(lines).toHaveLength(5);
        const p = plain.usage.prompt_tokens;
        expect(lines[0]).toMatch(/^\S+Z GET \/v1\/models 200 \d+\.\dms$/);
        expect(lines[1]).toMatch(new RegExp(`^\\S+Z POST /v1/chat/completions 200 prompt=${p} completion=3 \\d+\\.\\dms$`));
        expect(lines[2]).toMatch(new RegExp(`^\\S+Z POST /v1/chat/completions 200 prompt=${p} completion=3 \\d+\\.\\dms$`));
        expect(lines[3]).toMatch(/^\S+Z GET \/v1\/nothing-here 404 \d+\.\dms$/);
        expect(lines[4]).toMatch(/^\S+Z POST \/v1\/chat\/completions 400 \d+\.\dms$/);
    });

    it("json: one object per line with the same fields; -c 0 serves the model's trained context (capped by memory)", async () => {
        expect(json.stderr()).toMatch(/ready: 1 slot\(s\) x \d+ tokens \((the model's trained context|capped by free memory)/);
        const from = json.stderr().length;
        const r = await (await fetch(`${json.url}/v1/chat/completions`, chat(false))).json();
        const [line] = await accessLines(json, from, 1, /^\{"time"/);
        const e = JSON.parse(line!);
        expect(e).toMatchObject({
            method: "POST",
            route: "/v1/chat/completions",
            status: 200,
            prompt_tokens: r.usage.prompt_tokens,
            completion_tokens: 3,
        });
        expect(e.ms).toBeGreaterThan(0);
        expect(Number.isNaN(Date.parse(e.time))).toBe(false);
    });

    it("autoglm ps shows what the server has loaded and its counters", async () => {
        const r = await runCli(["ps", "--url", text.url]);
        expect(r.code, r.stderr).toBe(0);
        // The demo's served name; the file's name only: /v1/models tells a client nothing of the server's folders.
        expect(r.stdout).toMatch(/^autoglm-demo: autoglm-demo-random-Q8_0\.gguf \| glm4 \| .* \| backend \w+/m);
        expect(r.stdout).toMatch(/layers on the GPU/);
        expect(r.stdout).toMatch(/^ {2}context \d+ tokens per slot \(trained: 65536\) \| images$/m);
        expect(r.stdout).toMatch(/^slots 0\/1 busy \| queue 0 \| requests \d+ \(\d+ errors\) \| tokens \d+ prompt, 6 generated$/m);
        const j = JSON.parse((await runCli(["ps", "--url", text.url, "--json"])).stdout);
        expect(j.models[0].meta).toMatchObject({ architecture: "glm4", n_slots: 1 });
        expect(j.metrics.autoglm_slots_total).toBe(1);
        const none = await runCli(["ps", "--url", "http://127.0.0.1:9"]);
        expect(none.code).toBe(1);
        expect(none.stderr).toMatch(/^autoglm: no server answers at http:\/\/127\.0\.0\.1:9 .*start one with autoglm serve\n$/);
    });
});
