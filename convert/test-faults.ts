// Faults the lost-work tests inject into a conversion (AUTOGLM_TEST_FAULT), so that a kill or a
// full disk lands at a known stage instead of at a moment picked by a timer:
//   convert-pause:<stage>   stop at <stage> (text, vision, audio: after the file's first chunk is
//                           encoded; commit: every file complete, none renamed) until a signal;
//   convert-enospc:<role>   the first tensor write of that file fails with ENOSPC.

import type { GgufWriter } from "./gguf/writer.js";

function fault(kind: "pause" | "enospc", stage: string): boolean {
    return process.env.AUTOGLM_TEST_FAULT === `convert-${kind}:${stage}`;
}

/** Waits at `stage` until `signal` aborts, when the pause fault names it. */
export async function pauseAt(stage: string, signal?: AbortSignal): Promise<void> {
    if (!fault("pause", stage)) return;
    process.stderr.write(`autoglm: test fault: paused at ${stage}\n`);
    await new Promise<never>((_, reject) => {
        const timer = setInterval(() => {}, 1 << 30); // keeps the process alive while it waits
        signal?.addEventListener(
            "abort",
            () => {
                clearInterval(timer);
                reject(signal.reason);
            },
            { once: true },
        );
    });
}

/** `writer`, with the faults for `role` at its first tensor write. */
export function withFaults(writer: GgufWriter, role: string, signal?: AbortSignal): GgufWriter {
    if (!fault("pause", role) && !fault("enospc", role)) return writer;
    const write = writer.writeTensorData.bind(writer);
    let first = true;
    writer.writeTensorData = async (chunk) => {
        if (first) {
            first = false;
            if (fault("enospc", role))
                throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", path: writer.path });
            await pauseAt(role, signal);
        }
        return write(chunk);
    };
    return writer;
}
