// `autoglm chat`: a terminal REPL with streamed answers, multi-turn with KV-cache reuse, thinking
// shown dimmed (or hidden) and /commands. With stdin not a terminal it reads one prompt per line
// and prints plain answers, which is how scripts and tests drive it.

import { createInterface } from "node:readline";
import { Command } from "commander";
import { ChatSession, type TurnResult } from "../../engine/chat.js";
import { createContext } from "../../engine/context.js";
import { Session } from "../../engine/session.js";
import type { NativeContext } from "../../engine/native.js";
import { grammarFromJsonSchema, readGrammarFile, validateGrammar } from "../../engine/grammar.js";
import type { Piece } from "../../engine/thinking.js";
import { UserError } from "../../../convert/errors.js";
import { numberOption } from "../parse.js";
import { addModelOptions, loadFromFlags, settingsFrom, type ModelFlags } from "../model-options.js";

interface ChatFlags extends ModelFlags {
    system?: string; think?: boolean; temp: number; topK: number; topP: number; minP: number; repeatPenalty: number;
    seed?: number; maxTokens: number; ignoreEos?: boolean; stats?: boolean; hideThinking?: boolean;
    grammarFile?: string; jsonSchema?: string; json?: boolean; stop: string[];
}

const HELP = `commands:
  /reset        forget the conversation
  /save FILE    save the conversation and its KV cache (FILE and FILE.json)
  /load FILE    restore a saved conversation
  /help         this text
  /exit         quit (also Ctrl-D)
Ctrl-C stops the current answer and keeps the conversation.`;


function statsLine(r: TurnResult): string {
    const s = r.stats;
    const tps = s.decodeMs > 0 ? ((s.tokens.length - 1) / s.decodeMs) * 1000 : 0;
    return `[prompt: ${s.evaluatedTokens} new tokens, ${s.reusedTokens} reused, first token ${s.ttftMs.toFixed(1)} ms | answer: ${s.tokens.length} tokens, ${tps.toFixed(1)} tok/s, ${s.reason}]`;
}

function jsonStats(r: TurnResult) {
    const s = r.stats;
    return { promptTokens: s.evaluatedTokens, reusedTokens: s.reusedTokens, answerTokens: s.tokens.length, ttftMs: s.ttftMs, decodeMs: s.decodeMs, reason: s.reason };
}

export function chatCommand(): Command {
    return addModelOptions(new Command("chat").description("chat with a model in the terminal (one prompt per line when stdin is not a terminal)"))
        .option("-s, --system <text>", "system prompt")
        .option("--think", "let the model think first (GLM: enable_thinking)")
        .option("--no-think", "answer without thinking")
        .option("--hide-thinking", "do not print the model's thinking")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0.8)
        .option("--top-k <k>", "top-k (0: off)", numberOption("--top-k", { integer: true }), 40)
        .option("--top-p <p>", "top-p (1: off)", numberOption("--top-p"), 0.95)
        .option("--min-p <p>", "min-p (0: off)", numberOption("--min-p"), 0.05)
        .option("--repeat-penalty <x>", "repeat penalty (1: off)", numberOption("--repeat-penalty"), 1)
        .option("--seed <n>", "sampling seed (default: random)", numberOption("--seed", { integer: true }))
        .option("-n, --max-tokens <n>", "longest answer in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 2048)
        .option("--ignore-eos", "keep generating past the end-of-answer token (up to --max-tokens)")
        .option("--stop <text>", "end the answer before this text (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
        .option("--grammar-file <file>", "constrain answers with a GBNF grammar")
        .option("--json-schema <schema>", "constrain answers to JSON matching a schema (JSON text or a .json file)")
        .option("--stats", "print token counts and speed after each answer (stderr)")
        .option("--json", "line mode: print each answer as one JSON object per line ({content, reasoning, stats})")
        .action(async (f: ChatFlags) => {
            const settings = settingsFrom(f);
            const log = (line: string) => process.stderr.write(`${line}\n`);
            const loaded = await loadFromFlags(f, log);
            let ctx: NativeContext | undefined;
            let chat: ChatSession;
            try {
                const grammar = f.grammarFile ? readGrammarFile(f.grammarFile) : f.jsonSchema ? await grammarFromJsonSchema(loaded.llama, f.jsonSchema) : undefined;
                if (grammar) await validateGrammar(loaded.llama, grammar);
                ctx = createContext(loaded, settings);
                chat = new ChatSession(loaded, new Session(ctx), {
                    system: f.system, enableThinking: f.think, maxTokens: f.maxTokens, ignoreEog: f.ignoreEos, stopStrings: f.stop,
                    sampling: { temperature: f.temp, topK: f.topK, topP: f.topP, minP: f.minP, repeatPenalty: f.repeatPenalty, seed: f.seed ?? Math.floor(Math.random() * 2 ** 31), grammar },
                });
            } catch (e) {
                ctx?.dispose();
                await loaded.dispose();
                throw e;
            }
            const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
            let current: AbortController | undefined;
            const onSigint = () => { if (current) current.abort(); else if (!tty) process.exit(130); };
            process.on("SIGINT", onSigint);
            const write = (s: string) => process.stdout.write(s);
            const show = (p: Piece) => {
                if (p.kind === "reasoning") { if (tty && !f.hideThinking) write(`\x1b[2m${p.text}\x1b[22m`); }
                else if (tty) write(p.text);
            };
            const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
            if (tty) {
                write(`type a message, /help for commands\n`);
                rl.setPrompt("› ");
                rl.prompt();
                rl.on("SIGINT", () => { if (current) current.abort(); else rl.close(); });
            }
            try {
                for await (const raw of rl) {
                    const line = raw.trim();
                    if (!line) { if (tty) rl.prompt(); continue; }
                    try {
                        if (line.startsWith("/")) {
                            const [cmd, ...rest] = line.split(/\s+/);
                            const arg = rest.join(" ");
                            if (cmd === "/exit" || cmd === "/quit") break;
                            else if (cmd === "/help") log(HELP);
                            else if (cmd === "/reset") { chat.reset(); log("conversation reset"); }
                            else if (cmd === "/save") { if (!arg) throw new UserError("usage: /save FILE"); chat.save(arg); log(`saved to ${arg}`); }
                            else if (cmd === "/load") { if (!arg) throw new UserError("usage: /load FILE"); chat.load(arg); log(`loaded ${arg} (${chat.history.length} messages)`); }
                            else throw new UserError(`unknown command ${cmd} (/help lists them)`);
                        } else {
                            current = new AbortController();
                            const r = await chat.send(line, show, current.signal);
                            current = undefined;
                            if (tty) write("\n");
                            else if (f.json) write(`${JSON.stringify({ content: r.content, reasoning: r.reasoning, stats: jsonStats(r) })}\n`);
                            else write(`${r.content}\n`);
                            if (r.stats.reason === "aborted") log("[stopped]");
                            if (f.stats) log(statsLine(r));
                        }
                    } catch (e) {
                        current = undefined;
                        if (!(e instanceof UserError)) throw e;
                        log(`autoglm: ${(e as Error).message}`);
                        if (!tty) process.exitCode = 1;
                    }
                    if (tty) rl.prompt();
                }
            } finally {
                process.off("SIGINT", onSigint);
                rl.close();
                ctx.dispose();
                await loaded.dispose();
            }
        });
}
