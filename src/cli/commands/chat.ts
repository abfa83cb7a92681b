// `autoglm chat`: a terminal REPL with streamed answers, multi-turn with KV-cache reuse, thinking
// shown dimmed (or hidden) and /commands. With stdin not a terminal it reads one prompt per line
// and prints plain answers, which is how scripts and tests drive it. With --url the turns go to a
// remote engine (the same REPL; /save and /load are refused: no KV cache here to save).

import { createInterface } from "node:readline";
import { Command } from "commander";
import { ChatSession } from "../../engine/chat.js";
import { DEFAULT_QUESTION } from "../../engine/media-policy.js";
import { grammarFor, readGrammarFile, readJsonSchema } from "../../engine/grammar.js";
import { Runtime } from "../../engine/runtime.js";
import type { GrammarRequest, TurnEvent, TurnPart, TurnResult } from "../../engine/turn.js";
import { UserError } from "../../core/errors.js";
import { CancelledError } from "../../engine/errors.js";
import { numberOption } from "../parse.js";
import { openHistory } from "../chat-history.js";
import { TerminalInput } from "../chat-input.js";
import { splitPathWord } from "../chat-paths.js";
import { dim, escapeControls } from "../terminal-text.js";
import { setLibraryLogs } from "../../engine/library-log.js";
import {
    addMediaOptions,
    addModelOptions,
    encoderFromFlags,
    speechModelFromFlags,
    type MediaFlags,
    type ModelFlags,
} from "../model-options.js";
import { openEngine } from "../open-engine.js";
import { addRemoteOptions, checkRemoteFlags, LOCAL_MODEL_FLAGS, type RemoteFlags } from "../remote-options.js";

/**
 * chat's own flags besides the model's that a remote engine cannot honour: none. Sampling, --seed,
 * --stop, --ignore-eos and --think go in the request under the names llama-server, vLLM, SGLang
 * and autoglm read; --grammar-file as `grammar` (llama-server's and autoglm's extension; another
 * server refuses or ignores it, its answer says which) and --json-schema as response_format;
 * --stats shows the usage and timings the server reports; --verbose has no library to show.
 */
const CHAT_LOCAL_ONLY: string[] = [];

interface ChatFlags extends ModelFlags, MediaFlags, RemoteFlags {
    system?: string;
    think?: boolean;
    temp?: number;
    topK?: number;
    topP?: number;
    minP?: number;
    repeatPenalty?: number;
    repeatLastN?: number;
    seed?: number;
    maxTokens: number;
    ignoreEos?: boolean;
    stats?: boolean;
    hideThinking?: boolean;
    grammarFile?: string;
    jsonSchema?: string;
    json?: boolean;
    stop: string[];
    history: boolean;
    verbose?: boolean;
}

const HELP = `commands:
  /image FILE [question]   ask about an image (needs --mmproj, or a --url engine that takes images; the demo model has one)
  /audio FILE [question]   a WAV recording: heard by the model's own audio encoder, or transcribed
                           by the speech model (--asr-model) and answered
  /reset        forget the conversation
  /save FILE    save the conversation and its KV cache (FILE and FILE.json; a local model only)
  /load FILE    restore a saved conversation (a local model only)
  /help         this text
  /exit         quit (also Ctrl-D, or Ctrl-C twice at an empty prompt)
Ctrl-C stops the current answer and keeps what was said so far; at the prompt it clears the line.
Several lines: paste them, end a line with \\ or Alt-Enter, or put them between """ lines.`;

/** The path a /command names, read as a shell word (a dropped file: `my\\ shot.png`, `'my shot.png'`), and the rest. */
function pathAndRest(arg: string, usage: string): [string, string] {
    const word = splitPathWord(arg);
    if (!word) throw new UserError(`usage: ${usage}`);
    return [word.path, word.rest];
}

/** `remote`: the context is the server's (--url), not --ctx-size. */
function statsLine(r: TurnResult, remote: boolean): string {
    const { usage: u, timings: t } = r;
    const tps = t.decodeMs > 0 ? ((u.completionTokens - 1) / t.decodeMs) * 1000 : 0;
    return `[prompt: ${u.promptTokens - u.cachedTokens} new tokens, ${u.cachedTokens} reused, first token ${t.firstTokenMs.toFixed(1)} ms | answer: ${u.completionTokens} tokens, ${tps.toFixed(1)} tok/s, ${r.finish}${r.contextFull ? ` (the context is full: /reset, or ${remote ? "a server with a larger context" : "a larger --ctx-size"})` : ""}]`;
}

function jsonStats(r: TurnResult) {
    return {
        promptTokens: r.usage.promptTokens - r.usage.cachedTokens,
        reusedTokens: r.usage.cachedTokens,
        answerTokens: r.usage.completionTokens,
        ttftMs: r.timings.firstTokenMs,
        decodeMs: r.timings.decodeMs,
        reason: r.finish,
    };
}

export function chatCommand(): Command {
    return addRemoteOptions(
        addMediaOptions(
            addModelOptions(
                new Command("chat").description(
                    "chat with a model in the terminal (one prompt per line when stdin is not a terminal); with --url, with a remote engine",
                ),
            ),
            {
                mmproj: "the model's encoder GGUF (vision and/or audio), loaded at the first /image or /audio",
                speech: true,
                imageTokens: true,
                imagePixels: true,
                idleUnload: true,
            },
        ),
    )
        .option("-s, --system <text>", "system prompt")
        .option("--think", "let the model think first (GLM: enable_thinking)")
        .option("--no-think", "answer without thinking")
        .option("--hide-thinking", "do not print the model's thinking")
        .option("--temp <t>", "temperature (0: greedy; default: the model's general.sampling.temp, else 0.8)", numberOption("--temp"))
        .option("--top-k <k>", "top-k (0: off; default: the model's, else 40)", numberOption("--top-k", { integer: true }))
        .option("--top-p <p>", "top-p (1: off; default: the model's, else 0.95)", numberOption("--top-p"))
        .option("--min-p <p>", "min-p (0: off; default: the model's, else 0.05)", numberOption("--min-p"))
        .option("--repeat-penalty <x>", "repeat penalty (1: off; default: the model's, else 1)", numberOption("--repeat-penalty"))
        .option(
            "--repeat-last-n <n>",
            "tokens the repeat penalty looks back over (0: off; default: the model's, else 64)",
            numberOption("--repeat-last-n", { integer: true }),
        )
        .option("--seed <n>", "sampling seed (default: random)", numberOption("--seed", { integer: true }))
        .option("-n, --max-tokens <n>", "longest answer in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 2048)
        .option("--ignore-eos", "keep generating past the end-of-answer token (up to --max-tokens)")
        .option(
            "--stop <text>",
            "end the answer before this text (repeatable)",
            (v: string, prev: string[]) => [...prev, v],
            [] as string[],
        )
        .option("--grammar-file <file>", "constrain answers with a GBNF grammar")
        .option("--json-schema <schema>", "constrain answers to JSON matching a schema (JSON text or a .json file)")
        .option("--stats", "print token counts and speed after each answer (stderr); in line mode, also a line as each answer begins")
        .option("--json", "line mode: print each answer as one JSON object per line ({content, reasoning, stats})")
        .option("--no-history", "do not read or write the prompt history ($XDG_STATE_HOME/autoglm/chat_history; also AUTOGLM_NO_HISTORY=1)")
        .option("--verbose", "show llama.cpp's, libmtmd's and node-llama-cpp's own log lines")
        .action(async (f: ChatFlags, cmd: Command) => {
            checkRemoteFlags(cmd, f, [...LOCAL_MODEL_FLAGS, ...CHAT_LOCAL_ONLY], ["apiKey"]);
            setLibraryLogs(f.verbose ? "verbose" : "quiet");
            const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
            let input: TerminalInput | undefined;
            let closing = false;
            const log = (line: string) => process.stderr.write(`${line}\n`);
            const note = (what: string, e: "loaded" | "released") => {
                if (closing) return; // released because the chat ends: nothing the user waits for
                const line = `[${what} ${e}${e === "loaded" ? "" : " after idle"} | RAM ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB]`;
                if (input) input.notify(line);
                else log(line);
            };
            const given = {
                temperature: f.temp,
                topK: f.topK,
                topP: f.topP,
                minP: f.minP,
                repeatPenalty: f.repeatPenalty,
                penaltyLastN: f.repeatLastN,
            };
            const engine = await openEngine(
                f,
                cmd,
                async () => ({
                    // Read from the header: /audio knows whether the model hears without loading the encoder.
                    ...(await encoderFromFlags(f)),
                    maxImageTokens: f.maxImageTokens,
                    imageMaxPixels: f.imageMaxPixels,
                    idleSeconds: f.encoderIdleUnload || undefined,
                    speech: () => speechModelFromFlags(f, log),
                    onResource: note,
                }),
                log,
                given,
            );
            let chat: ChatSession;
            try {
                const grammar: GrammarRequest | undefined = f.grammarFile
                    ? { gbnf: readGrammarFile(f.grammarFile) }
                    : f.jsonSchema
                      ? { jsonSchema: readJsonSchema(f.jsonSchema) }
                      : undefined;
                // A local model checks the grammar now, not at the first answer.
                if (grammar && engine instanceof Runtime) await grammarFor(engine.loaded.llama, engine.loaded.vocabSize, grammar);
                chat = await ChatSession.open(engine, {
                    system: f.system,
                    enableThinking: f.think,
                    maxTokens: f.maxTokens,
                    ignoreEos: f.ignoreEos,
                    stop: f.stop,
                    sampling: { ...given, seed: f.seed },
                    grammar,
                });
            } catch (e) {
                await engine.dispose();
                throw e;
            }
            let current: AbortController | undefined;
            // A SIGINT (kill -INT; at the terminal's prompt and during an answer Ctrl-C is a key, read
            // in raw mode) stops the answer; in line mode between answers it ends the chat. At a
            // terminal, between the prompt and the answer (an image decoding), the chat stays.
            const onSigint = () => {
                if (current) current.abort();
                else if (!tty) process.exit(130);
            };
            process.on("SIGINT", onSigint);
            const write = (s: string) => process.stdout.write(s);
            let atLineStart = true;
            const show = (e: TurnEvent) => {
                if (
                    e.type === "media" &&
                    e.report.kind === "image" &&
                    (e.report.width !== e.report.source.width || e.report.height !== e.report.source.height)
                ) {
                    const { width, height, tokens, source } = e.report;
                    log(
                        `[image scaled from ${source.width}x${source.height} (${source.tokens} tokens) to ${width}x${height} (${tokens} tokens)]`,
                    );
                } else if (e.type === "media" && e.report.kind === "audio" && e.report.transcript !== undefined) {
                    log(`transcript: ${tty ? escapeControls(e.report.transcript) : e.report.transcript}`);
                } else if (e.type === "prompt" && f.stats && !tty) {
                    // Nothing streams in line mode: a script (or a test) sees the answer has begun.
                    log(`[answering: ${e.total - e.cached} prompt tokens to evaluate, ${e.cached} from the cache]`);
                } else if ((e.type === "text" || e.type === "reasoning") && tty && e.text && !(e.type === "reasoning" && f.hideThinking)) {
                    const text = escapeControls(e.text);
                    write(e.type === "reasoning" ? dim(text) : text);
                    atLineStart = text.endsWith("\n");
                }
            };
            const ask = async (content: string | TurnPart[]) => {
                current = new AbortController();
                const controller = current;
                const stopWatching = input?.duringAnswer(() => controller.abort());
                let r: TurnResult;
                try {
                    atLineStart = true;
                    r = await chat.send(content, show, controller.signal);
                } catch (e) {
                    // Stopped before it answered (reading an image, transcribing a clip, waiting): the turn did not happen.
                    if (!(e instanceof CancelledError)) throw e;
                    log("[stopped]");
                    return;
                } finally {
                    stopWatching?.();
                    current = undefined;
                }
                if (tty) {
                    if (!atLineStart) write("\n");
                } else if (f.json) write(`${JSON.stringify({ content: r.content, reasoning: r.reasoning, stats: jsonStats(r) })}\n`);
                else write(`${r.content}\n`);
                if (r.finish === "aborted") log("[stopped]");
                else if (tty && !r.content.trim() && !r.reasoning.trim())
                    log(`[the answer is empty: ${r.usage.completionTokens} tokens, none of them text]`);
                if (f.stats) log(statsLine(r, Boolean(f.url)));
            };
            /** One turn or /command; "exit" ends the chat. */
            const handle = async (line: string): Promise<"exit" | undefined> => {
                try {
                    if (!line.startsWith("/")) {
                        await ask(line);
                        return undefined;
                    }
                    const cmd = line.split(/\s/, 1)[0]!;
                    const arg = line.slice(cmd.length).trim(); // as typed: a path's spaces are kept
                    if (cmd === "/exit" || cmd === "/quit") return "exit";
                    else if (cmd === "/help") log(HELP);
                    else if (cmd === "/reset") {
                        chat.reset();
                        log("conversation reset");
                    } else if (cmd === "/save") {
                        const [file] = pathAndRest(arg, "/save FILE");
                        chat.save(file);
                        log(`saved to ${file}`);
                    } else if (cmd === "/load") {
                        const [file] = pathAndRest(arg, "/load FILE");
                        chat.load(file);
                        log(`loaded ${file} (${chat.history.length} messages)`);
                    } else if (cmd === "/image") {
                        const [path, question] = pathAndRest(arg, "/image FILE [question]");
                        await ask([
                            { type: "image", source: { path } },
                            { type: "text", text: question || DEFAULT_QUESTION.image },
                        ]);
                    } else if (cmd === "/audio") {
                        // Heard by the model's own encoder, or transcribed by the speech model (the transcript is shown).
                        const [path, question] = pathAndRest(arg, "/audio FILE [question]");
                        await ask([
                            { type: "audio", source: { path } },
                            { type: "text", text: question || DEFAULT_QUESTION.audio },
                        ]);
                    } else throw new UserError(`unknown command ${cmd} (/help lists them)`);
                } catch (e) {
                    if (!(e instanceof UserError)) throw e;
                    log(`autoglm: ${(e as Error).message}`);
                    if (!tty) process.exitCode = 1;
                }
                return undefined;
            };
            try {
                if (tty) {
                    input = new TerminalInput(openHistory(f.history, log));
                    write(`type a message, /help for commands, """ for several lines\n`);
                    for (;;) {
                        const turn = await input.read();
                        if (turn === undefined) break;
                        if ((await handle(turn.trim())) === "exit") break;
                    }
                } else {
                    // Line mode: one turn per line, as scripts and tests drive it.
                    const rl = createInterface({ input: process.stdin, terminal: false });
                    try {
                        for await (const raw of rl) {
                            const line = raw.trim();
                            if (line && (await handle(line)) === "exit") break;
                        }
                    } finally {
                        rl.close();
                    }
                }
            } finally {
                closing = true;
                process.off("SIGINT", onSigint);
                input?.close();
                chat.close();
                await engine.dispose();
            }
        });
}
