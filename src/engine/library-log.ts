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

/**
 * What llama.cpp logs, as errors, for every decode a cancel aborts (GGML_STATUS_ABORTED, and
 * llama_decode's return value 2 for it): a stopped answer is expected, so only --verbose shows them.
 */
const STOPPED_DECODE =
    /(ggml_backend_sched_graph_compute_async failed with error 1|failed to compute graph, compute status: 1|failed to decode, ret = 2)$/;

/** The level and logger getLlama is given. */
export function nodeLlamaCppLogging(): { logLevel: LlamaLogLevel; logger: (level: LlamaLogLevel, message: string) => void } {
    return {
        logLevel: (mode === "verbose" ? "warn" : mode === "quiet" ? "disabled" : "error") as LlamaLogLevel,
        logger: (_level, message) => {
            if (mode === "quiet" || (mode === "errors" && STOPPED_DECODE.test(message.trimEnd()))) return;
            process.stderr.write(`[llama.cpp] ${message.trimEnd()}\n`);
        },
    };
}

/** Whether libmtmd's warnings and errors reach stderr (its progress lines never do). */
export function mediaLogWarnings(m: LibraryLogs = mode): boolean {
    return m !== "quiet";
}

/**
 * Runs a node-llama-cpp call whose own console lines (console.error/warn, which its logger does not
 * carry) are held back and written after it, unless `signal` was aborted meanwhile: a Ctrl-C during
 * the backend probe also kills node-llama-cpp's binding-test child process, and its "Failed to load
 * a prebuilt binary" report with a stack trace is about that Ctrl-C, not a fault the user can act on.
 */
export async function withLibraryConsole<T>(signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
    if (!signal) return job();
    const held: [keyof Console & ("error" | "warn"), unknown[]][] = [];
    const { error, warn } = console;
    console.error = (...args: unknown[]) => void held.push(["error", args]);
    console.warn = (...args: unknown[]) => void held.push(["warn", args]);
    try {
        return await job();
    } finally {
        console.error = error;
        console.warn = warn;
        if (!signal.aborted) for (const [level, args] of held) console[level](...args);
    }
}
