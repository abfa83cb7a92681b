// The end of a Node environment with native jobs in flight: a worker thread that loaded the demo model,
// an encoder and a four-sequence context, with three streams decoding and a screenshot encoding, is
// terminated; another calls process.exit() itself. The addon stops its scheduler and encoder threads
// before Node finalizes the thread-safe function they report through (native/src/native-context.h), so
// the process survives both, a third worker runs to the end, and so does a generation on the main thread.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultModel } from "../models/default-model.js";
import { ROOT } from "./helpers/cli.js";

let demo: { text: string; vision: string };

beforeAll(async () => {
    demo = await defaultModel();
});

/** The CPU build of the addon (the helper loads node-llama-cpp's CPU variant). */
const addonPath = join(
    ROOT,
    "native",
    "build",
    `${process.platform === "darwin" ? "mac" : process.platform}-${process.arch}`,
    "autoglm.node",
);

function run(): Promise<{ code: number | null; signal: NodeJS.Signals | null; events: Record<string, unknown>[]; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(ROOT, "test/helpers/teardown-run.mjs"), demo.text, demo.vision, addonPath], {
            cwd: ROOT,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "",
            stderr = "";
        child.stdout.on("data", (d) => {
            stdout += d;
        });
        child.stderr.on("data", (d) => {
            stderr += d;
        });
        child.on("error", reject);
        child.on("close", (code, signal) =>
            resolve({
                code,
                signal,
                stderr,
                events: stdout
                    .split("\n")
                    .filter((l) => l.startsWith("{"))
                    .map((l) => JSON.parse(l)),
            }),
        );
    });
}

describe("a Node environment ending with native jobs in flight", () => {
    it("a terminated worker and one that exits leave the process running; the next runs work", async () => {
        const r = await run();
        expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
        const of = (mode: string, event: string) => r.events.find((e) => e.mode === mode && e.event === event);
        // Both ended while their streams were decoding (tokens had flowed, 8000 were asked for).
        expect(of("terminate", "running")).toBeTruthy();
        expect(of("terminate", "worker-exit")).toMatchObject({ running: true });
        expect(of("exit", "running")).toBeTruthy();
        expect(of("exit", "worker-exit")).toMatchObject({ code: 0, running: true });
        // A third worker in the same process, then the main thread, run to the end.
        expect(of("complete", "completed")).toEqual({
            mode: "complete",
            event: "completed",
            reasons: ["length", "length", "length", "length"],
            tokens: [8, 8, 8, 4],
        });
        expect(of("complete", "worker-exit")).toMatchObject({ code: 0 });
        expect(of("main", "completed")).toEqual({ mode: "main", event: "completed", reason: "length", tokens: 8 });
    });
});
