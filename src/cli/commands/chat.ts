// `autoglm chat`: a terminal REPL with streamed answers, multi-turn with KV-cache reuse, thinking
// shown dimmed (or hidden) and /commands. With stdin not a terminal it reads one prompt per line
// and prints plain answers, which is how scripts and tests drive it.

import { createInterface } from "node:readline";
import { Command } from "commander";
import { ChatSession } from "../../engine/chat.js";
import type { TurnResult, UserTurn } from "../../engine/runtime.js";
import { DEFAULT_QUESTION } from "../../engine/media-policy.js";
import { grammarFromJsonSchema, readGrammarFile, validateGrammar } from "../../engine/grammar.js";
import type { Piece } from "../../engine/thinking.js";
import { UserError } from "../../core/errors.js";
import { numberOption } from "../parse.js";
import { addModelOptions, encoderFromFlags, openRuntime, speechModelFromFlags, type ModelFlags } from "../model-options.js";

interface ChatFlags extends ModelFlags {
    system?: string; think?: boolean; temp?: number; topK?: number; topP?: number; minP?: number; repeatPenalty?: number;
    seed?: number; maxTokens: number; ignoreEos?: boolean; stats?: boolean; hideThinking?: boolean;
    grammarFile?: string; jsonSchema?: string; json?: boolean; stop: string[];
    mmproj?: string; asrModel?: string; asrMmproj?: string; maxImageTokens?: number; imageMaxPixels: number; encoderIdleUnload?: number;
}

const HELP = `commands:
  /image FILE [question]   ask about an image (needs --mmproj; the demo model has one)
  /audio FILE [question]   a WAV recording: heard by the model's own audio encoder, or transcribed
                           by the speech model (--asr-model) and answered
  /reset        forget the conversation
  /save FILE    save the conversation and its KV cache (FILE and FILE.json)
  /load FILE    restore a saved conversation
  /help         this text
  /exit         quit (also Ctrl-D)
Ctrl-C stops the current answer and keeps the conversation.`;


/** `FILE rest` or `"FILE with spaces" rest`. */
function pathAndRest(arg: string, usage: string): [string, string] {
    const m = /^"([^"]+)"\s*(.*)$/.exec(arg) ?? /^(\S+)\s*(.*)$/.exec(arg);
    if (!m) throw new UserError(`usage: ${usage}`);
    return [m[1]!, m[2]!];
}

function statsLine(r: TurnResult): string {
    const s = r.stats;
    const tps = s.decodeMs > 0 ? ((s.tokens.length - 1) / s.decodeMs) * 1000 : 0;
    return `[prompt: ${s.evaluatedTokens} new tokens, ${s.reusedTokens} reused, first token ${s.ttftMs.toFixed(1)} ms | answer: ${s.tokens.length} tokens, ${tps.toFixed(1)} tok/s, ${s.reason}${s.contextFull ? " (the context is full: /reset, or a larger --ctx-size)" : ""}]`;
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
        .option("--temp <t>", "temperature (0: greedy; default 0.8)", numberOption("--temp"))
        .option("--top-k <k>", "top-k (0: off; default 40)", numberOption("--top-k", { integer: true }))
        .option("--top-p <p>", "top-p (1: off; default 0.95)", numberOption("--top-p"))
        .option("--min-p <p>", "min-p (0: off; default 0.05)", numberOption("--min-p"))
        .option("--repeat-penalty <x>", "repeat penalty (1: off; default 1)", numberOption("--repeat-penalty"))
        .option("--seed <n>", "sampling seed (default: random)", numberOption("--seed", { integer: true }))
        .option("-n, --max-tokens <n>", "longest answer in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 2048)
        .option("--ignore-eos", "keep generating past the end-of-answer token (up to --max-tokens)")
        .option("--stop <text>", "end the answer before this text (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
        .option("--grammar-file <file>", "constrain answers with a GBNF grammar")
        .option("--json-schema <schema>", "constrain answers to JSON matching a schema (JSON text or a .json file)")
        .option("--mmproj <file>", "the model's encoder GGUF (vision and/or audio), loaded at the first /image or /audio")
        .option("--asr-model <file>", "speech model for /audio when the chat model has no audio encoder (GLM-ASR)")
        .option("--asr-mmproj <file>", "the speech model's audio encoder")
        .option("--max-image-tokens <n>", "scale images down to at most this many image tokens", numberOption("--max-image-tokens", { integer: true, positive: true }))
        .option("--image-max-pixels <n>", "scale larger images down to this many pixels as vLLM's GLM-4.1V processor does (Open-AutoGLM: 5000000)", numberOption("--image-max-pixels", { integer: true, positive: true }), 5_000_000)
        .option("--encoder-idle-unload <seconds>", "release encoders and the speech model after this long unused (0: keep)", numberOption("--encoder-idle-unload"), 0)
        .option("--stats", "print token counts and speed after each answer (stderr)")
        .option("--json", "line mode: print each answer as one JSON object per line ({content, reasoning, stats})")
        .action(async (f: ChatFlags) => {
            const log = (line: string) => process.stderr.write(`${line}\n`);
            // Read from the header: /audio knows whether the model hears without loading the encoder.
            const encoder = await encoderFromFlags(f);
            const note = (what: string, e: "loaded" | "released") => log(`[${what} ${e}${e === "loaded" ? "" : " after idle"} | RAM ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB]`);
            const runtime = await openRuntime(f, {
                ...encoder, maxImageTokens: f.maxImageTokens, imageMaxPixels: f.imageMaxPixels, idleSeconds: f.encoderIdleUnload || undefined,
                speech: () => speechModelFromFlags(f, log), onResource: note,
            }, log);
            let chat: ChatSession;
            try {
                const grammar = f.grammarFile ? readGrammarFile(f.grammarFile) : f.jsonSchema ? await grammarFromJsonSchema(runtime.loaded.llama, f.jsonSchema) : undefined;
                if (grammar) await validateGrammar(runtime.loaded.llama, grammar, runtime.loaded.vocabSize);
                chat = new ChatSession(runtime, runtime.pool.slots[0]!, {
                    system: f.system, enableThinking: f.think, maxTokens: f.maxTokens, ignoreEog: f.ignoreEos, stopStrings: f.stop,
                    sampling: runtime.sampling({ temperature: f.temp, topK: f.topK, topP: f.topP, minP: f.minP, repeatPenalty: f.repeatPenalty, seed: f.seed, grammar }),
                });
            } catch (e) {
                await runtime.dispose();
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
            /** The user turn for /audio: the model hears it, or the speech model's transcript is sent. */
            const audioTurn = async (path: string, question: string, signal: AbortSignal): Promise<UserTurn> => {
                const a = await runtime.media.audio(path, signal);
                const q = question || DEFAULT_QUESTION.audio;
                if (a.part.type === "text") {
                    log(`transcript: ${a.transcript}`);
                    return { text: a.part.text + q };
                }
                return { text: q, media: [a.part] };
            };
            const ask = async (turn: UserTurn | ((signal: AbortSignal) => Promise<UserTurn>)) => {
                current = new AbortController();
                const r = await chat.send(typeof turn === "function" ? await turn(current.signal) : turn, show, current.signal);
                current = undefined;
                if (tty) write("\n");
                else if (f.json) write(`${JSON.stringify({ content: r.content, reasoning: r.reasoning, stats: jsonStats(r) })}\n`);
                else write(`${r.content}\n`);
                if (r.stats.reason === "aborted") log("[stopped]");
                if (f.stats) log(statsLine(r));
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
                            else if (cmd === "/image") {
                                const [path, question] = pathAndRest(arg, "/image FILE [question]");
                                const image = await runtime.media.image(path);
                                if (image.scaledFrom) log(`[image scaled from ${image.scaledFrom.width}x${image.scaledFrom.height} (${image.scaledFrom.tokens} tokens) to ${image.image.width}x${image.image.height} (${image.tokens} tokens)]`);
                                await ask({ text: question || DEFAULT_QUESTION.image, media: [image.part] });
                            } else if (cmd === "/audio") {
                                const [path, question] = pathAndRest(arg, "/audio FILE [question]");
                                await ask((signal) => audioTurn(path, question, signal));
                            }
                            else throw new UserError(`unknown command ${cmd} (/help lists them)`);
                        } else {
                            await ask({ text: line });
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
                await runtime.dispose();
            }
        });
}
