// Starts the real `autoglm serve` as a child process on a free port and waits until it is ready.
import { spawn, type ChildProcess } from "node:child_process";
import { BIN, ROOT } from "./cli.js";

export interface RunningServer {
    url: string;
    child: ChildProcess;
    stderr(): string;
    /** SIGTERM, then the exit code. */
    stop(): Promise<number | null>;
}

export async function startServer(args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stdout!.on("data", () => {});
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), timeoutMs);
        let address = "";
        child.stderr!.on("data", (d) => {
            stderr += d;
            address ||= /listening on (http:\/\/\S+)/.exec(stderr)?.[1] ?? "";
            if (address && /\nready: /.test(stderr)) {
                clearTimeout(timer);
                resolve(address);
            }
        });
        void exited.then((code) => {
            clearTimeout(timer);
            reject(new Error(`server exited with ${code}:\n${stderr}`));
        });
    });
    return {
        url,
        child,
        stderr: () => stderr,
        async stop() {
            child.kill("SIGTERM");
            return exited;
        },
    };
}
