// What the server benchmarks share: their flags, the reference tools, starting a server and waiting
// for /health, medians, and screenshot-like test images.
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const bin = join(root, "bin/autoglm.js");

const args = process.argv.slice(2);
/** The value after `--name` on the command line, or `fallback`. */
export const flag = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
};

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** llama.cpp's tools (llama-server included) built from the bundled source; their folder. */
export function referenceTools() {
    return execFileSync("bash", [join(root, "scripts/build-llama-tools.sh"), "--with-server"], { encoding: "utf8" })
        .trim()
        .split("\n")
        .pop();
}

/** The --model / --mmproj pair, or autoglm's demo pair (tiny GLM-4.1V layout). */
export async function visionPair() {
    const model = flag("--model"),
        mmproj = flag("--mmproj");
    if (model) return { model, mmproj };
    const { defaultModel } = await import(join(root, "dist/models/default-model.js"));
    const demo = await defaultModel();
    return { model: demo.text, mmproj: demo.vision };
}

/** `-ngl` for --gpu-layers N|max. */
const nglArgs = (layers) => (layers ? ["-ngl", layers === "max" ? "999" : String(layers)] : []);

/**
 * autoglm serve and llama-server over the same pair and settings: `slots` slots of `ctx` tokens each
 * (llama-server's -c is the total), `threads`, `layers` offloaded (--gpu-layers N|max); llama-server
 * with autoglm's batch (-b/-ub 512) and its Jinja templates; `extra`: autoglm's own flags (--gpu).
 */
export function startServers(tools, { model, mmproj, ctx, threads, slots = 1, layers, extra = [] }) {
    return {
        "autoglm serve": (port) =>
            startServer(
                process.execPath,
                [
                    bin,
                    "serve",
                    "-m",
                    model,
                    "--mmproj",
                    mmproj,
                    "--port",
                    String(port),
                    "--parallel",
                    String(slots),
                    "-c",
                    String(ctx),
                    "-t",
                    String(threads),
                    ...extra,
                    ...(layers ? ["--gpu-layers", String(layers)] : []),
                ],
                port,
            ),
        "llama-server": (port) =>
            startServer(
                join(tools, "llama-server"),
                [
                    "-m",
                    model,
                    "--mmproj",
                    mmproj,
                    "--port",
                    String(port),
                    "-np",
                    String(slots),
                    "-c",
                    String(ctx * slots),
                    "-t",
                    String(threads),
                    "-b",
                    "512",
                    "-ub",
                    "512",
                    "--jinja",
                    ...nglArgs(layers),
                ],
                port,
            ),
    };
}

/** Starts a server process and waits for /health; returns { url, stop }. */
export async function startServer(cmd, argv, port) {
    const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
        err += d;
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 1200; i++) {
        if (child.exitCode !== null) throw new Error(`${cmd} exited:\n${err.slice(-2000)}`);
        if (
            await fetch(`${url}/health`).then(
                (r) => r.ok,
                () => false,
            )
        )
            return {
                url,
                stop: () =>
                    new Promise((r) => {
                        child.on("close", r);
                        child.kill("SIGTERM");
                    }),
            };
        await sleep(100);
    }
    throw new Error(`${cmd} did not become ready:\n${err.slice(-2000)}`);
}

let shots = 0;
/** A screenshot-like PNG data URL (bands of colour; 1080x2400 unless given), different on every call so no server answers from a cached image. */
export async function screenshot(width = 1080, height = 2400) {
    const salt = ++shots;
    const rgb = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
            const i = (y * width + x) * 3;
            rgb[i] = ((y >> 4) * 13 + salt * 31) & 255;
            rgb[i + 1] = (x >> 3) * 7;
            rgb[i + 2] = ((x ^ y) >> 5) * 29;
        }
    return `data:image/png;base64,${(
        await sharp(rgb, { raw: { width, height, channels: 3 } })
            .png()
            .toBuffer()
    ).toString("base64")}`;
}

/** Calls `onEvent` with each JSON `data:` event of a streamed response, as it arrives. */
export async function sseEvents(res, onEvent) {
    if (!res.ok) throw new Error(`HTTP ${res.status} ${await res.text()}`);
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
            const ev = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (ev.startsWith("data: ") && ev !== "data: [DONE]") onEvent(JSON.parse(ev.slice(6)));
        }
    }
}
