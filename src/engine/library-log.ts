// Who prints what llama.cpp, libmtmd and node-llama-cpp log. A server keeps their warnings and
// errors on stderr (an operator reads them); the terminal front ends keep them out of the
// conversation (an aborted answer makes llama.cpp log "graph_compute ... failed", libmtmd warns
// that audio is experimental), and --verbose brings them back. Both loggers are process-wide.

// A type-only import: the CLI sets the mode before any model loads, and --help must not load node-llama-cpp.
import type { LlamaLogLevel } from "node-llama-cpp";

export type LibraryLogs = "errors" | "quiet" | "verbose";

let mode: LibraryLogs = "errors";
const listeners = new Set<(m: LibraryLogs) => void>();

export function setLibraryLogs(m: LibraryLogs): void {
    mode = m;
    for (const fn of listeners) fn(m);
}

/** Calls `fn` with the mode now and on every change (the native addon applies libmtmd's setting this way). */
export function onLibraryLogs(fn: (m: LibraryLogs) => void): void {
    listeners.add(fn);
    fn(mode);
}
export function libraryLogs(): LibraryLogs {
    return mode;
}

/** The level and logger getLlama is given. */
export function nodeLlamaCppLogging(): { logLevel: LlamaLogLevel; logger: (level: LlamaLogLevel, message: string) => void } {
    return {
        logLevel: (mode === "verbose" ? "warn" : mode === "quiet" ? "disabled" : "error") as LlamaLogLevel,
        logger: (_level, message) => {
            if (mode !== "quiet") process.stderr.write(`[llama.cpp] ${message.trimEnd()}\n`);
        },
    };
}

/** Whether libmtmd's warnings and errors reach stderr (its progress lines never do). */
export function mediaLogWarnings(m: LibraryLogs = mode): boolean {
    return m !== "quiet";
}
