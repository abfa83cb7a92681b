// Runs a long job so that Ctrl-C (SIGINT) or SIGTERM aborts it cleanly: the job sees an aborted
// signal and removes its partial output, and the command ends with the signal's AbortError, which
// main() prints as one line ("autoglm: interrupted", exit 130). This is the one place that decides
// a job was interrupted: one that returns a result anyway (an answer stopped half-way) or fails
// because of the interruption (a child process killed by the same Ctrl-C) is interrupted too.

export function interruptError(sig: NodeJS.Signals): Error {
    const err = new Error(`interrupted by ${sig}`);
    err.name = "AbortError";
    return err;
}

export async function withInterrupt<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => controller.abort(interruptError(sig));
    // `once`: a second Ctrl-C while a job winds down gets Node's default (the process ends at once).
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        const result = await job(controller.signal);
        controller.signal.throwIfAborted();
        return result;
    } catch (e) {
        if (controller.signal.aborted) throw controller.signal.reason;
        throw e;
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
    }
}
