// Runs a long job so that Ctrl-C (SIGINT) or SIGTERM aborts it cleanly: the job sees an aborted
// signal, removes its partial output, and the process exits with an "interrupted" message.

export async function withInterrupt<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
        const err = new Error(`interrupted by ${sig}`);
        err.name = "AbortError";
        controller.abort(err);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        return await job(controller.signal);
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
    }
}
