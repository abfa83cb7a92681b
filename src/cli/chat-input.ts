// The terminal chat's keyboard: reads one turn at the prompt (node:readline, with the history),
// and watches for Ctrl-C while an answer streams.
//
// A turn is one line, or several joined by newlines when
//   - they are pasted (bracketed paste: the terminal marks the pasted text; Enter then sends it),
//   - they arrive together in one read (a paste in a terminal without bracketed paste mode),
//   - they sit in a """ block (""" opens it, a line ending in """ closes it, as in ollama),
//   - a line ends with \ or is ended with Alt-Enter (the line goes on below).
// Tab completes /commands and the file paths after them (src/cli/chat-paths.ts).
// Ctrl-C at the prompt clears what was typed and says how to quit; Ctrl-C again at an empty prompt,
// Ctrl-D or /exit quits. readline is closed while an answer streams, with the terminal in raw mode,
// so keys typed then are neither echoed into the answer nor sent later; Ctrl-C stops the answer.

import { createInterface, emitKeypressEvents, type Interface, type Key } from "node:readline";
import type { ChatHistory } from "./chat-history.js";
import { MAX_ENTRIES } from "./chat-history.js";
import { completeChatLine } from "./chat-paths.js";

const PROMPT = "› ";
const CONTINUE = "… ";
const BLOCK = '"""';
export const QUIT_HINT = "(to quit: Ctrl-D or /exit, or Ctrl-C again at an empty prompt)";

const BRACKETED_PASTE_ON = "\x1b[?2004h";
const BRACKETED_PASTE_OFF = "\x1b[?2004l";

export class TerminalInput {
    private rl: Interface | undefined;
    private readonly stdin = process.stdin;
    private readonly stdout = process.stdout;

    constructor(private readonly history: ChatHistory | undefined) {
        emitKeypressEvents(this.stdin);
        this.stdout.write(BRACKETED_PASTE_ON);
    }

    /** Prints a line (a resource note) above the prompt and draws the prompt again, with what was typed. */
    notify(line: string): void {
        if (!this.rl) {
            process.stderr.write(`${line}\n`);
            return;
        }
        this.stdout.write("\r\x1b[K");
        process.stderr.write(`${line}\n`);
        this.rl.prompt(true);
    }

    /** One turn; undefined when the user quits (Ctrl-D, or Ctrl-C twice at an empty prompt). */
    read(): Promise<string | undefined> {
        return new Promise((resolve) => {
            const rl = createInterface({
                input: this.stdin,
                output: this.stdout,
                terminal: true,
                prompt: PROMPT,
                history: this.history?.newestFirst ?? [],
                historySize: this.history ? MAX_ENTRIES : 0,
                removeHistoryDuplicates: true,
                completer: (line: string) => completeChatLine(line), // /commands, and paths after /image, /audio, /save, /load
            });
            this.rl = rl;
            let lines: string[] = [];
            let block = false,
                pasting = false,
                armed = false,
                scheduled = false,
                done = false;
            const finish = (turn: string | undefined) => {
                if (done) return;
                done = true;
                this.stdin.off("keypress", onKey);
                this.rl = undefined;
                rl.close();
                resolve(turn);
            };
            const more = () => {
                rl.setPrompt(CONTINUE);
                rl.prompt();
            };
            const submit = () => {
                const turn = lines.join("\n");
                lines = [];
                if (!turn.trim()) {
                    rl.setPrompt(PROMPT);
                    rl.prompt();
                    return;
                }
                if (!turn.includes("\n")) this.history?.add(turn);
                finish(turn);
            };
            // Lines of one read arrive in the same tick: they are sent together, after the last.
            const submitSoon = () => {
                if (scheduled) return;
                scheduled = true;
                setImmediate(() => {
                    scheduled = false;
                    if (!done && !block && !pasting) submit();
                });
            };
            rl.on("line", (line) => {
                armed = false;
                if (!block && lines.length === 0 && line.trimStart().startsWith(BLOCK)) {
                    const rest = line.trimStart().slice(BLOCK.length);
                    if (rest.trimEnd().endsWith(BLOCK)) {
                        lines.push(rest.trimEnd().slice(0, -BLOCK.length));
                        submitSoon();
                        return;
                    }
                    block = true;
                    if (rest) lines.push(rest);
                    more();
                    return;
                }
                if (block) {
                    if (line.trimEnd().endsWith(BLOCK)) {
                        lines.push(line.trimEnd().slice(0, -BLOCK.length));
                        block = false;
                        submitSoon();
                    } else {
                        lines.push(line);
                        more();
                    }
                    return;
                }
                if (line.endsWith("\\")) {
                    lines.push(line.slice(0, -1));
                    more();
                    return;
                }
                lines.push(line);
                if (pasting) {
                    more();
                    return;
                }
                submitSoon();
            });
            // Runs after readline's own handler for the same key (it was registered first).
            const onKey = (_s: string | undefined, key: Key | undefined) => {
                if (key?.name === "paste-start") pasting = true;
                else if (key?.name === "paste-end") pasting = false;
                else if (key?.name === "return" && key.meta) {
                    // Alt-Enter (readline ignores it): the line goes on below.
                    lines.push(rl.line);
                    clearLine(rl);
                    this.stdout.write("\n");
                    more();
                }
                if (!(key?.ctrl && key.name === "c")) armed = false;
            };
            this.stdin.on("keypress", onKey);
            rl.on("SIGINT", () => {
                const empty = !rl.line && lines.length === 0 && !block;
                if (empty && armed) {
                    this.stdout.write("\n");
                    finish(undefined);
                    return;
                }
                lines = [];
                block = false;
                clearLine(rl);
                this.stdout.write("^C\n");
                process.stderr.write(`${QUIT_HINT}\n`);
                armed = empty;
                rl.setPrompt(PROMPT);
                rl.prompt();
            });
            rl.on("close", () => {
                if (!done) {
                    this.stdout.write("\n");
                    finish(undefined);
                }
            }); // Ctrl-D
            rl.prompt();
        });
    }

    /** While an answer streams: Ctrl-C calls onInterrupt, other keys are dropped. Returns the stop function. */
    duringAnswer(onInterrupt: () => void): () => void {
        const onKey = (_s: string | undefined, key: Key | undefined) => {
            if (key?.ctrl && key.name === "c") onInterrupt();
        };
        this.stdin.setRawMode(true);
        this.stdin.on("keypress", onKey);
        this.stdin.resume();
        return () => {
            this.stdin.off("keypress", onKey);
            this.stdin.setRawMode(false);
            this.stdin.pause();
        };
    }

    close(): void {
        this.rl?.close();
        this.rl = undefined;
        this.stdout.write(BRACKETED_PASTE_OFF);
    }
}

/** Empties readline's line buffer (the text stays on the screen until the next prompt redraws it). */
function clearLine(rl: Interface): void {
    const state = rl as unknown as { line: string; cursor: number };
    state.line = "";
    state.cursor = 0;
}
