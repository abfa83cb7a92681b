// Starts llama.cpp's own llama-server (built from the bundled source by scripts/build-llama-tools.sh
// --with-server) on a free port, and waits until /health says it is ready.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./cli.js";

let folder: string | undefined;

/** llama-server's path; builds it on first use (minutes, once per machine). */
export function llamaServerPath(): string {
    folder ??= execFileSync("bash", [join(ROOT, "scripts", "build-llama-tools.sh"), "--with-server"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 3_600_000,
    })
        .trim()
        .split("\n")
        .pop()!;
    return join(folder, "llama-server");
}

export interface RunningLlamaServer {
    url: string;
    child: ChildProcess;
    /** Its log so far (llama-server logs to stderr). */
    log(): string;
    stop(): Promise<void>;
}

export async function startLlamaServer(args: string[], timeoutMs = 120_000): Promise<RunningLlamaServer> {
    const child = spawn(llamaServerPath(), ["--host", "127.0.0.1", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout!.on("data", (d) => {
        log += d;
    });
    child.stderr!.on("data", (d) => {
        log += d;
    });
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    const deadline = Date.now() + timeoutMs;
    let url = "";
    for (;;) {
        if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}:\n${log.slice(-3000)}`);
        if (Date.now() > deadline) {
            child.kill("SIGKILL");
            throw new Error(`llama-server did not become ready:\n${log.slice(-3000)}`);
        }
        url ||= /listening on (http:\/\/[\d.]+:\d+)/.exec(log)?.[1] ?? "";
        if (
            url &&
            (await fetch(`${url}/health`).then(
                (r) => r.ok,
                () => false,
            ))
        )
            break;
        await new Promise((r) => setTimeout(r, 200));
    }
    return {
        url,
        child,
        log: () => log,
        async stop() {
            child.kill("SIGTERM");
            await exited;
        },
    };
}
