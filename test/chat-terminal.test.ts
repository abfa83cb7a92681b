// What a person at a terminal sees: the real CLI in a pseudo-terminal (tmux), keys typed into it,
// the screen read back. Ctrl-C at the prompt, during a load and during an answer; pastes, """
// blocks and continued lines as one turn; the history across sessions; control bytes from the
// model shown as escapes. Every wait is for text on the screen, never for a time.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startTty, type Tty } from "./helpers/tty.js";
import { writeTestPng } from "./helpers/media.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("chat-terminal");
// The built-in demo model, as a newcomer runs it; greedy, a small context.
const CHAT = ["chat", "--gpu", "cpu", "--temp", "0", "-c", "2048"];
const PROMPT = /^› ?$/m; // (tmux drops a line's trailing space)
const STATS = /\[prompt: (\d+) new tokens, (\d+) reused, .*?, (\w+)\]/g;
// What llama.cpp logs at every aborted answer (seen with --verbose), and the loggers' prefixes.
const LIBRARY_NOISE = /failed to compute graph|graph_compute|llama_decode: failed|\[node-llama-cpp\]|\[llama\.cpp\]|experimental stage/;

let open: Tty[] = [];
function tty(args: string[], env: Record<string, string> = {}): Tty {
    const t = startTty(args, { XDG_STATE_HOME: join(root, "state-default"), ...env });
    open.push(t);
    return t;
}
afterEach(() => {
    for (const t of open) t.close();
    open = [];
});

const stats = (screen: string) => [...screen.matchAll(STATS)].map((m) => ({ fresh: Number(m[1]), reused: Number(m[2]), reason: m[3] }));
/** Waits for the n-th answer's stats line and the prompt after it. */
const answered = (t: Tty, n: number) => t.waitFor(new RegExp(`(\\[prompt: [^\\n]*\\][^]*?){${n}}\\n› ?$`, "m"), `answer ${n}`);

describe("autoglm chat in a terminal", () => {
    it("Ctrl-C at the prompt clears the line and says how to quit; the chat goes on; Ctrl-C twice at an empty prompt quits (exit 0)", async () => {
        const t = tty([...CHAT, "-n", "2"]);
        await t.waitFor(PROMPT, "the prompt");
        t.send("half typed", { literal: true });
        await t.waitFor(/› half typed/);
        t.send("C-c");
        await t.waitFor(/› half typed\^C\n\(to quit: Ctrl-D or \/exit, or Ctrl-C again at an empty prompt\)\n› ?$/m, "the hint");
        t.send("/help", { literal: true });
        t.send("Enter");
        const s = await t.waitFor(/\/save FILE[\s\S]*\n› ?$/m, "/help");
        expect(s).toMatch(/^› \/help$/m); // the cleared text did not come back with the next line
        t.send(["C-c", "C-c"]);
        expect(await t.exitCode()).toBe(0);
    });

    it("Ctrl-C during the model load stops it: one line, exit 130, no chat", async () => {
        // The load waits for the interruption (a tiny model loads faster than a key can be pressed).
        const t = tty([...CHAT], { AUTOGLM_TEST_FAULT: "hold-load" });
        await t.waitFor(/the load waits for an interruption/, "the load");
        t.send("C-c");
        expect(await t.exitCode()).toBe(130);
        const s = t.screen();
        expect(s).toMatch(/^autoglm: interrupted\n\[exit 130\]/m); // one line, then the shell's
        expect(s).not.toMatch(/type a message|backend cpu/);
    });

    it("Ctrl-C during an answer stops it, keeps the conversation and brings the prompt back, with no library noise; keys typed meanwhile are dropped", async () => {
        const t = tty([...CHAT, "--ignore-eos", "-n", "1000000", "-c", "1000100", "--stats"]);
        await t.waitFor(PROMPT, "the prompt");
        t.send("Talk forever", { literal: true });
        t.send("Enter");
        await t.waitFor(/› Talk forever\n.+/, "the answer streaming");
        t.send("typed meanwhile", { literal: true });
        t.send("C-c");
        let s = await answered(t, 1);
        expect(s).toMatch(/\n\[stopped\]\n\[prompt: [^\n]*aborted\]\n› ?$/m);
        t.send("Go on", { literal: true });
        t.send("Enter");
        await t.waitFor(/› Go on\n.+/, "the second answer streaming");
        t.send("C-c");
        s = await answered(t, 2);
        const [first, second] = stats(s);
        expect(first.reason).toBe("aborted");
        // The second turn reused the first prompt and the part of the answer that was said.
        expect(second.reused).toBeGreaterThan(first.fresh);
        t.send("/exit", { literal: true });
        t.send("Enter");
        expect(await t.exitCode()).toBe(0);
        s = t.screen();
        expect(s).not.toMatch(LIBRARY_NOISE);
        expect(s).not.toMatch(/typed meanwhile/);
        expect(s).not.toMatch(/released after idle/);
    });

    it('a bracketed paste, lines arriving together, a """ block, a trailing \\ and Alt-Enter are each one turn', async () => {
        const t = tty([...CHAT, "-n", "2", "--stats"]);
        await t.waitFor(PROMPT, "the prompt");
        // A paste as a terminal in bracketed paste mode sends it; Enter then sends the turn.
        t.send("\x1b[200~first line\rsecond line\x1b[201~", { literal: true });
        await t.waitFor(/› first line\n… second line/);
        t.send("Enter");
        await answered(t, 1);
        // Two lines in one write, as a paste into a terminal without bracketed paste mode.
        t.send("alpha\rbeta\r", { literal: true });
        await answered(t, 2);
        t.send('"""', { literal: true });
        t.send("Enter");
        await t.waitFor(/› """\n… ?$/m);
        t.send("one", { literal: true });
        t.send("Enter");
        t.send('two"""', { literal: true });
        t.send("Enter");
        await answered(t, 3);
        t.send("cont\\", { literal: true });
        t.send("Enter");
        await t.waitFor(/› cont\\\n… ?$/m);
        t.send("inued", { literal: true });
        t.send("Enter");
        await answered(t, 4);
        t.send("left", { literal: true });
        t.send("M-Enter");
        await t.waitFor(/› left\n… ?$/m);
        t.send("right", { literal: true });
        t.send("Enter");
        const s = await answered(t, 5);
        expect(stats(s)).toHaveLength(5); // five turns, none split into lines
        t.send(["C-c", "C-c"]);
        expect(await t.exitCode()).toBe(0);
    });

    it("keeps the prompt history across sessions (up-arrow recalls it); --no-history and AUTOGLM_NO_HISTORY keep none", async () => {
        const state = join(root, "state-history");
        const file = join(state, "autoglm", "chat_history");
        const a = tty([...CHAT, "-n", "2", "--stats"], { XDG_STATE_HOME: state });
        await a.waitFor(PROMPT, "the prompt");
        a.send("remember this line", { literal: true });
        a.send("Enter");
        await answered(a, 1);
        a.send("/exit", { literal: true });
        a.send("Enter");
        expect(await a.exitCode()).toBe(0);
        expect(readFileSync(file, "utf8")).toBe("remember this line\n/exit\n");

        const b = tty([...CHAT, "-n", "2", "--stats"], { XDG_STATE_HOME: state });
        await b.waitFor(PROMPT, "the prompt");
        b.send(["Up", "Up"]);
        await b.waitFor(/^› remember this line$/m, "the recalled line");
        b.send("Enter");
        await answered(b, 1);
        b.send(["C-c", "C-c"]);
        expect(await b.exitCode()).toBe(0);
        const kept = "remember this line\n/exit\nremember this line\n"; // the recalled line, sent again
        expect(readFileSync(file, "utf8")).toBe(kept);

        for (const [args, env] of [
            [["--no-history"], {}],
            [[], { AUTOGLM_NO_HISTORY: "1" }],
        ] as const) {
            const c = tty([...CHAT, ...args], { XDG_STATE_HOME: state, ...env });
            await c.waitFor(PROMPT, "the prompt");
            c.send(["Up", "x"]);
            await c.waitFor(/^› x$/m, "the typed line"); // nothing recalled before the x
            c.send(["C-c", "C-c", "C-c"]); // clear the x, then quit
            expect(await c.exitCode()).toBe(0);
        }
        expect(readFileSync(file, "utf8")).toBe(kept);
    });

    it("control bytes in the model's answer are shown as escapes, not sent to the terminal", async () => {
        // A grammar makes the model say ESC [2J (clear the screen), BEL and a C1 CSI.
        const gbnf = join(root, "controls.gbnf");
        writeFileSync(gbnf, 'root ::= "A\\x1b[2JB\\x07C\\x9bD"\n');
        const t = tty([...CHAT, "-n", "20", "--grammar-file", gbnf]);
        await t.waitFor(PROMPT, "the prompt");
        t.send("Hi", { literal: true });
        t.send("Enter");
        const s = await t.waitFor(/^› Hi\n.*\n› ?$/m, "the answer");
        expect(s).toMatch(/^A\\x1b\[2JB\\x07C\\x9bD$/m);
        expect(s).toMatch(/type a message/); // the screen was not cleared
        t.send(["C-c", "C-c"]);
        expect(await t.exitCode()).toBe(0);
    });

    it("an encoder released because the chat ends is not announced as released after idle", async () => {
        const image = join(root, "screen.png");
        await writeTestPng(image);
        const t = tty([...CHAT, "-n", "2", "--stats", "--encoder-idle-unload", "3600"]);
        await t.waitFor(PROMPT, "the prompt");
        t.send(`/image ${image}`, { literal: true });
        t.send("Enter");
        await answered(t, 1);
        t.send("/exit", { literal: true });
        t.send("Enter");
        expect(await t.exitCode()).toBe(0);
        const s = t.screen();
        expect(s).toMatch(/\[encoder loaded \| RAM/);
        expect(s).not.toMatch(/released/);
    });
});
