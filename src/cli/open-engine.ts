// How a command gets its engine: the one place the CLI opens one. Today that is a local runtime over
// the flags' model (with a spinner on a terminal, then one status line and the sampling settings in
// effect); a remote engine (--url) slots in beside it here.

import { openLocalEngine, type LocalEngineOptions } from "../engine/local-engine.js";
import type { SamplingOptions } from "../engine/native.js";
import type { Runtime } from "../engine/runtime.js";
import { samplingLines } from "../engine/sampling-defaults.js";
import type { Engine } from "../engine/turn.js";
import { withInterrupt } from "./interrupt.js";
import { modelPath, settingsFrom, statusLine, type ModelFlags } from "./model-options.js";

export type EngineOptions = Omit<LocalEngineOptions, "model" | "load" | "context">;

/** Opens a local runtime over the flags' model and logs its status line (bench measures a runtime's slots directly). */
export async function openRuntime(
    f: ModelFlags,
    o: EngineOptions,
    log: (line: string) => void,
    given: Partial<SamplingOptions> = {},
    samplingTitle?: string | null,
): Promise<Runtime> {
    const settings = settingsFrom(f);
    const path = await modelPath(f, log);
    const { default: ora } = await import("ora"); // loaded when a model is, so --help stays light
    const spinner = ora({
        text: `loading ${path}`,
        stream: process.stderr,
        isEnabled: Boolean(process.stderr.isTTY),
        isSilent: !process.stderr.isTTY,
        // The terminal stays cooked, so Ctrl-C is a SIGINT even while a load blocks the event loop
        // (ora's stdin discarder reads it as a key, which a blocked loop reads only after the load).
        discardStdin: false,
    }).start();
    try {
        // Ctrl-C during the load stops it: exit 130 with one line, no chat or benchmark after it.
        const runtime = await withInterrupt((signal) =>
            openLocalEngine({ ...o, model: path, load: { gpu: f.gpu, gpuLayers: f.gpuLayers, signal }, context: settings }),
        );
        spinner.stop();
        log(await statusLine(runtime.loaded));
        if (samplingTitle !== null) for (const line of samplingLines(runtime.samplingDefaults, given, samplingTitle)) log(line);
        return runtime;
    } catch (e) {
        spinner.stop();
        throw e;
    }
}

/** The engine a command's turns go to. `given`: the sampling fields the command's flags set (shown with the defaults). */
export function openEngine(
    f: ModelFlags,
    o: EngineOptions,
    log: (line: string) => void,
    given: Partial<SamplingOptions> = {},
): Promise<Engine> {
    return openRuntime(f, o, log, given);
}
