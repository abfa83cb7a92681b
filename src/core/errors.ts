// Two kinds of failure, decided once where they arise. A UserError is a problem with the user's
// input (files, flags, a request): the CLI prints its message as one line and exits 1, the server
// answers 4xx. An InternalError is autoglm's or llama.cpp's fault: exit 70, HTTP 500, logged.
export class UserError extends Error {
    override name = "UserError";
}

export class InternalError extends Error {
    override name = "InternalError";
}

/**
 * An encoder or speech model that the server was started with failed to load at first use. On the
 * CLI it is the user's file (exit 1, the full message); a server's client did nothing wrong: it gets
 * a 503 naming only the resource, and the full message (with the server's paths) goes to the log.
 */
export class ResourceLoadError extends UserError {
    override name = "ResourceLoadError";
    constructor(
        readonly resource: "vision encoder" | "audio encoder" | "encoder" | "speech model",
        message: string,
    ) {
        super(message);
    }
}
