// How a command gets its engine: the one place the CLI opens one. With --url (AUTOGLM_URL) that is
// the remote OpenAI-compatible engine there (one status line; no model, encoder or speech model is
// read or loaded here); otherwise a local runtime over the flags' model (with a spinner on a
// terminal, then one status line and the sampling settings in effect).

import { openLocalEngine, type LocalEngineOptions } from "../engine/local-engine.js";
import type { SamplingOptions } from "../engine/native.js";
import type { Runtime } from "../engine/runtime.js";
import { samplingLines } from "../engine/sampling-defaults.js";
import type { Engine } from "../engine/turn.js";
import type { Command } from "commander";
import { withInterrupt } from "./interrupt.js";
import { modelPath, settingsFrom, statusLine, type ModelFlags } from "./model-options.js";
import { openRemote, type RemoteFlags } from "./remote-options.js";
import { colorEnabled } from "./terminal-text.js";

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
        color: colorEnabled() ? "cyan" : false, // NO_COLOR (ora's chalk does not read it)
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

/**
 * The engine a command's turns go to: with --url the remote engine there, else a local runtime over
 * the flags' model. `local` gives the local runtime's options (encoders, speech model): it is called
 * only without --url, so a remote run reads no model file. `given`: the sampling fields the
 * command's flags set (shown with the local model's defaults).
 */
export async function openEngine(
    f: ModelFlags & RemoteFlags,
    cmd: Command,
    local: () => EngineOptions | Promise<EngineOptions>,
    log: (line: string) => void,
    given: Partial<SamplingOptions> = {},
): Promise<Engine> {
    if (f.url) return openRemote(f, cmd, log);
    return openRuntime(f, await local(), log, given);
}
