// The command-line entry: builds the commander program from one module per command (each loads its
// heavy dependencies only when it runs), gives every flag an AUTOGLM_* environment variable,
// rewrites llama.cpp's spellings (aliases.ts), and turns errors into one-line messages with a
// non-zero exit code.

import { Command, CommanderError, type Option } from "commander";
import { InternalError, UserError } from "../core/errors.js";
import { threadBudget } from "../core/threads.js";
import { packageVersion } from "./version.js";
import { escapeControls } from "./terminal-text.js";
import { convertCommand } from "./commands/convert.js";
import { quantizeCommand } from "./commands/quantize.js";
import { infoCommand } from "./commands/info.js";
import { synthesizeCommand } from "./commands/synthesize.js";
import { benchCommand } from "./commands/bench.js";
import { chatCommand } from "./commands/chat.js";
import { describeCommand } from "./commands/describe.js";
import { transcribeCommand } from "./commands/transcribe.js";
import { serveCommand } from "./commands/serve.js";
import { devicesCommand } from "./commands/devices.js";
import { modelsCommand } from "./commands/models.js";
import { psCommand } from "./commands/ps.js";
import { pullCommand } from "./commands/pull.js";
import { rmCommand } from "./commands/rm.js";
import { completionCommand } from "./commands/completion.js";
import { agentCommand } from "./commands/agent.js";
import { aliasesFor, COMMAND_ALIASES, rewriteArgv } from "./aliases.js";
import { endQuietlyOnClosedPipes } from "./closed-pipes.js";

/** AUTOGLM_ and the long flag's name in capitals: --gpu-layers -> AUTOGLM_GPU_LAYERS. */
export function envName(option: Option): string | undefined {
    if (!option.long || option.long === "--help" || option.long === "--version") return undefined;
    return `AUTOGLM_${option.long.replace(/^--/, "").replace(/-/g, "_").toUpperCase()}`;
}

const OFF = /^(0|false|no|off|)$/i;

/**
 * Every flag of every command reads its environment variable when not given (commander's
 * Option.env: the command line wins). A switch is on when its variable is set, unless it is 0,
 * false, no, off or empty.
 */
function addEnvironment(program: Command): void {
    for (const cmd of program.commands) {
        for (const option of cmd.options as Option[]) {
            const name = envName(option);
            if (!name || option.envVar) continue;
            option.env(name);
            // commander wires an option's variable when the option is added; these are set after, so
            // the value is applied here as commander would (parsed and checked, source "env").
            cmd.on(`optionEnv:${option.name()}`, (value?: string) => {
                const key = option.attributeName();
                try {
                    const v =
                        value === undefined ? !option.negate : option.parseArg ? option.parseArg(value, cmd.getOptionValue(key)) : value;
                    cmd.setOptionValueWithSource(key, v, "env");
                } catch (e) {
                    throw new UserError(`${name}=${JSON.stringify(value)}: ${(e as Error).message}`);
                }
            });
            const isSwitch = !option.required && !option.optional;
            if (isSwitch && name in process.env && OFF.test(process.env[name]!.trim())) delete process.env[name];
        }
        const aliases = aliasesFor(cmd.name()).filter(([, to]) => (cmd.options as Option[]).some((o) => o.long === to));
        if (aliases.length)
            cmd.addHelpText(
                "after",
                `\nalso accepted (llama.cpp's spellings, older names): ${aliases.map(([a, to]) => `${a} = ${to}`).join(", ")}`,
            );
    }
}

export function buildProgram(): Command {
    const program = new Command("autoglm")
        .description(
            "Run GLM-family multimodal models (AutoGLM-Phone-9B, GLM-4.1V, GLM-ASR) locally from GGUF, and convert Hugging Face weights to GGUF.",
        )
        .version(packageVersion(), "-V, --version")
        .showHelpAfterError("(run with --help for usage)")
        .exitOverride();
    for (const make of [
        convertCommand,
        quantizeCommand,
        infoCommand,
        synthesizeCommand,
        chatCommand,
        describeCommand,
        transcribeCommand,
        serveCommand,
        benchCommand,
        devicesCommand,
        pullCommand,
        modelsCommand,
        rmCommand,
        psCommand,
        agentCommand,
    ]) {
        program.addCommand(make().exitOverride());
    }
    program.addCommand(completionCommand(() => program).exitOverride());
    addEnvironment(program);
    // A command's --threads is the process's thread budget: decode, encoders and worker pools share it.
    program.hook("preAction", (_program, action) => {
        const threads = action.opts().threads;
        if (typeof threads === "number") threadBudget.setTotal(threads);
    });
    program.addHelpText(
        "after",
        `
Every flag can also be set by an environment variable: AUTOGLM_ and the flag's name in capitals
(--gpu-layers 99: AUTOGLM_GPU_LAYERS=99; a switch such as --json: AUTOGLM_JSON=1). The command line wins.
A command's --help lists its variables and the llama.cpp spellings it accepts (-ngl 99, -c 0, --n-predict).
${Object.entries(COMMAND_ALIASES)
    .map(([a, c]) => `${a} is autoglm ${c}.`)
    .join(" ")} After npm install, run it as npx autoglm (or npm install -g for autoglm on PATH).

Without --model, commands use a tiny random-weight demo model. The real AutoGLM-Phone-9B is on Hugging Face:
  autoglm pull zai-org/AutoGLM-Phone-9B        (downloads the checkpoint, converts it to GGUF in the models folder)
  autoglm chat -m AutoGLM-Phone-9B              (and describe, serve, bench: -m finds it and its vision encoder)`,
    );
    return program;
}

export async function main(argv: string[]): Promise<number> {
    // Past `ulimit -f` the kernel kills a writer with SIGXFSZ; handled, the write fails with EFBIG
    // instead, and the command removes its partial output and says so.
    if (process.platform !== "win32") process.on("SIGXFSZ", () => {});
    endQuietlyOnClosedPipes();
    const program = buildProgram();
    try {
        await program.parseAsync(
            rewriteArgv(
                argv,
                program.commands.flatMap((c) => [c.name(), ...c.aliases()]),
            ),
        );
        // A command that finished but recorded a failure (a line-mode chat turn) set process.exitCode.
        return typeof process.exitCode === "number" ? process.exitCode : 0;
    } catch (e) {
        if (e instanceof CommanderError) {
            // commander already printed its message (help, version, or a usage error).
            return e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
        }
        if (e instanceof UserError) {
            // Messages can carry what a server or a file said: no escape sequence reaches the terminal.
            process.stderr.write(`autoglm: ${escapeControls(e.message)}\n`);
            return 1;
        }
        const err = e as NodeJS.ErrnoException;
        if (err?.code === "ENOSPC") {
            process.stderr.write(`autoglm: no space left on the device (${err.path ?? "output"}); nothing was left half-written\n`);
            return 1;
        }
        if (err?.code === "EFBIG") {
            process.stderr.write(
                `autoglm: a file grew past this system's file size limit (ulimit -f) (${err.path ?? "output"}); nothing was left half-written\n`,
            );
            return 1;
        }
        if (err?.code === "ENOENT" || err?.code === "EACCES" || err?.code === "EISDIR" || err?.code === "ENOTDIR") {
            process.stderr.write(`autoglm: ${err.message}\n`);
            return 1;
        }
        if (e instanceof InternalError) {
            // autoglm's or llama.cpp's fault, not the user's: one line, and the stack with AUTOGLM_DEBUG=1.
            process.stderr.write(`autoglm: internal error: ${e.message}\n${process.env.AUTOGLM_DEBUG ? `${e.stack}\n` : ""}`);
            return 70;
        }
        if ((e as Error)?.name === "AbortError") {
            process.stderr.write("autoglm: interrupted\n");
            return 130;
        }
        process.stderr.write(`autoglm: internal error: ${(e as Error)?.stack ?? e}\n`);
        return 70;
    }
}
