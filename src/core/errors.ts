// Errors that describe a problem with the user's input (files, flags), as opposed to a bug.
// The CLI prints their message as one line and exits non-zero, without a stack trace.
export class UserError extends Error {
    override name = "UserError";
}
