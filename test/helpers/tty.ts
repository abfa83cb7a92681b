// Runs the real CLI in a pseudo-terminal (tmux, on a server of its own), types keys into it and
// reads the screen, for the tests of what a person at a terminal sees. Waits are for text on the
// screen, never for a time.
import { execFileSync } from "node:child_process";
import { BIN, ROOT } from "./cli.js";

let sessions = 0;

export interface Tty {
    /** Keys as tmux names them ("Enter", "C-c", "Up") or literal text with `{ literal: true }`. */
    send(keys: string[] | string, opts?: { literal?: boolean }): void;
    /** The whole screen and scrollback, wrapped lines joined; with escapes: the colour and attribute sequences too. */
    screen(opts?: { escapes?: boolean }): string;
    /** Waits until the screen matches; throws with the screen when it never does (or the CLI ended). */
    waitFor(pattern: RegExp, what?: string): Promise<string>;
    /** The CLI's exit code once it has ended (waits for it). */
    exitCode(): Promise<number>;
    close(): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function startTty(args: string[], env: Record<string, string> = {}): Tty {
    const socket = `autoglm-test-${process.pid}-${sessions++}`;
    const tmux = (...a: string[]) => execFileSync("tmux", ["-L", socket, ...a], { encoding: "utf8" });
    const envs = Object.entries(env)
        .map(([k, v]) => `${k}=${quote(v)}`)
        .join(" ");
    // The pane stays after the CLI ends so that its last screen and exit code can be read. A person's
    // terminal has no CI variable (CI turns colours off in the libraries that draw the spinner).
    const command = `cd ${quote(ROOT)} && env -u CI ${envs} ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(" ")}; echo "[exit $?]"; sleep 100000`;
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "200", "-y", "50", command);
    tmux("set-option", "-t", "t", "history-limit", "10000");
    const screen = (opts: { escapes?: boolean } = {}) =>
        tmux("capture-pane", "-p", "-J", ...(opts.escapes ? ["-e"] : []), "-S", "-", "-t", "t");
    const waitFor = async (pattern: RegExp, what = String(pattern)) => {
        // Bounded by the test's own timeout; the screen is polled, never timed.
        for (;;) {
            const s = screen();
            if (pattern.test(s)) return s;
            if (/\[exit \d+\]/.test(s) && !pattern.test(s)) throw new Error(`the CLI ended before ${what}:\n${s}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    };
    return {
        send(keys, opts = {}) {
            tmux("send-keys", "-t", "t", ...(opts.literal ? ["-l"] : []), ...(Array.isArray(keys) ? keys : [keys]));
        },
        screen,
        waitFor,
        async exitCode() {
            return Number(/\[exit (\d+)\]/.exec(await waitFor(/\[exit \d+\]/, "the CLI's exit"))![1]);
        },
        close() {
            try {
                tmux("kill-server");
            } catch {
                /* already gone */
            }
        },
    };
}
