// Two kinds of failure, decided once where they arise. A UserError is a problem with the user's
// input (files, flags, a request): the CLI prints its message as one line and exits 1, the server
// answers 4xx. An InternalError is autoglm's or llama.cpp's fault: exit 70, HTTP 500, logged.
export class UserError extends Error {
    override name = "UserError";
}

export class InternalError extends Error {
    override name = "InternalError";
}
