// Who says yes to a sensitive action (a Tap with message=, Take_over): the person at the terminal,
// --yes for them, or nobody (no terminal, no --yes: refused, and the task ends saying so). And
// Ctrl-C: the tasks stop after the action under way, never in the middle of typing.

import { createInterface } from "node:readline";
import type { Confirm, ConfirmRequest, Decision } from "./handler.js";

export const autoConfirm: Confirm = async () => "yes";

export const refuseConfirm: Confirm = async () => "refused";

function question(r: ConfirmRequest, several: boolean): string {
    const who = several ? `[${r.serial}] ` : "";
    return r.kind === "sensitive"
        ? `${who}The model wants to do a sensitive action: ${JSON.stringify(r.message)}. Allow it? [y/N] `
        : `${who}The model asks you to take over: ${JSON.stringify(r.message)}. Do it on the phone, then press Enter to go on (n to stop the task): `;
}

function decide(r: ConfirmRequest, answer: string): Decision {
    const a = answer.trim().toLowerCase();
    if (r.kind === "sensitive") return a === "y" || a === "yes" ? "yes" : "no";
    return a === "n" || a === "no" ? "no" : "yes";
}

/**
 * Asks at the terminal, one question at a time (several phones may ask at once). Ctrl-C at the
 * question answers "stop" and calls `onStop`; so does a task stopped otherwise (SIGTERM) while its
 * question waits; the end of input answers "no".
 */
export function terminalConfirm(o: {
    input: NodeJS.ReadableStream;
    output: NodeJS.WritableStream;
    several?: boolean;
    onStop?: () => void;
}): Confirm {
    let queue: Promise<unknown> = Promise.resolve();
    const ask = (r: ConfirmRequest) =>
        new Promise<Decision>((resolve) => {
            const rl = createInterface({ input: o.input, output: o.output, terminal: Boolean((o.input as NodeJS.ReadStream).isTTY) });
            let settled = false;
            const finish = (d: Decision) => {
                if (settled) return;
                settled = true;
                rl.close();
                resolve(d);
            };
            rl.on("SIGINT", () => {
                o.output.write("\n");
                o.onStop?.();
                finish("stop");
            });
            rl.on("close", () => finish("no"));
            r.signal?.addEventListener("abort", () => {
                o.output.write("\n");
                finish("stop");
            });
            rl.question(question(r, Boolean(o.several)), (answer) => finish(decide(r, answer)));
        });
    return (r) => {
        const next = queue.then(() => (r.signal?.aborted ? ("stop" as const) : ask(r)));
        queue = next.catch(() => {});
        return next;
    };
}

/** The confirmation policy for the command line: --yes, else the terminal when stdin is one, else refuse. */
export function confirmPolicy(o: {
    yes?: boolean;
    input: NodeJS.ReadStream;
    output: NodeJS.WritableStream;
    several?: boolean;
    onStop?: () => void;
}): Confirm {
    if (o.yes) return autoConfirm;
    if (o.input.isTTY) return terminalConfirm(o);
    return refuseConfirm;
}

/**
 * Ctrl-C and SIGTERM call `stop` (every task ends after its action under way) and say so; later
 * ones say it again instead of killing the process mid-action. Returns the function that removes
 * the handlers.
 */
export function stopOnSignals(stop: () => void, log: (line: string) => void): () => void {
    let count = 0;
    const onSignal = () => {
        count++;
        log(
            count === 1
                ? "stopping after the action under way (the phone is never left half-typed)..."
                : "still finishing the action under way; it ends within its own time limit",
        );
        stop();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return () => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
    };
}
