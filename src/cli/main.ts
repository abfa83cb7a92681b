// The command-line entry: builds the commander program from one module per command and turns
// errors into one-line messages with a non-zero exit code.

import { Command, CommanderError } from "commander";
import { InternalError, UserError } from "../core/errors.js";
import { packageVersion } from "./version.js";
import { convertCommand } from "./commands/convert.js";
import { quantizeCommand } from "./commands/quantize.js";
import { infoCommand } from "./commands/info.js";
import { synthesizeCommand } from "./commands/synthesize.js";
import { benchCommand } from "./commands/bench.js";
import { chatCommand } from "./commands/chat.js";
import { describeCommand } from "./commands/describe.js";
import { transcribeCommand } from "./commands/transcribe.js";
import { serveCommand } from "./commands/serve.js";

export function buildProgram(): Command {
    const program = new Command("autoglm")
        .description("Run GLM-family multimodal models (AutoGLM-Phone-9B, GLM-4.1V, GLM-ASR) locally from GGUF, and convert Hugging Face weights to GGUF.")
        .version(packageVersion(), "-V, --version")
        .showHelpAfterError("(run with --help for usage)")
        .exitOverride();
    for (const make of [convertCommand, quantizeCommand, infoCommand, synthesizeCommand, chatCommand, describeCommand, transcribeCommand, serveCommand, benchCommand]) {
        program.addCommand(make().exitOverride());
    }
    return program;
}

export async function main(argv: string[]): Promise<number> {
    // Past `ulimit -f` the kernel kills a writer with SIGXFSZ; handled, the write fails with EFBIG
    // instead, and the command removes its partial output and says so.
    if (process.platform !== "win32") process.on("SIGXFSZ", () => {});
    const program = buildProgram();
    try {
        await program.parseAsync(argv);
        // A command that finished but recorded a failure (a line-mode chat turn) set process.exitCode.
        return typeof process.exitCode === "number" ? process.exitCode : 0;
    } catch (e) {
        if (e instanceof CommanderError) {
            // commander already printed its message (help, version, or a usage error).
            return e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
        }
        if (e instanceof UserError) {
            process.stderr.write(`autoglm: ${e.message}\n`);
            return 1;
        }
        const err = e as NodeJS.ErrnoException;
        if (err?.code === "ENOSPC") {
            process.stderr.write(`autoglm: no space left on the device (${err.path ?? "output"}); nothing was left half-written\n`);
            return 1;
        }
        if (err?.code === "EFBIG") {
            process.stderr.write(`autoglm: a file grew past this system's file size limit (ulimit -f) (${err.path ?? "output"}); nothing was left half-written\n`);
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
