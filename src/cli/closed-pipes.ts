// `autoglm --help | head -3`: the reader closes the pipe and the next write fails with EPIPE, which
// Node raises as an unhandled 'error' event (a stack trace, exit 1). A closed stdout means nobody
// reads the output any more: the command ends at once, quietly, with exit 0. A closed stderr is
// ignored (there is nowhere left to say anything).

export function endQuietlyOnClosedPipes(): void {
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "EPIPE") process.exit(0);
        throw e;
    });
    process.stderr.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
    });
}
