// One `autoglm agent` run: the checks, then one task per phone, concurrently, each with its own
// history and engine session, reported at the terminal or as JSON and recorded when asked; Ctrl-C
// stops every task after its action under way.

import type { Engine } from "../engine/turn.js";
import { AdbDevice } from "./adb.js";
import { Agent, type TaskResult } from "./agent.js";
import type { DeviceType } from "./apps.js";
import { checkDevices, checkModel } from "./checks.js";
import type { Device } from "./device.js";
import type { Sleep } from "./handler.js";
import { HdcDevice } from "./hdc.js";
import { JsonReporter, type Reporter, TerminalReporter } from "./output.js";
import type { AgentLang } from "./prompts.js";
import { RunRecord } from "./record.js";
import { confirmPolicy, stopOnSignals } from "./safety.js";
import type { ActionTiming } from "./timing.js";

export function openDevice(type: DeviceType, serial: string): Device {
    return type === "hdc" ? new HdcDevice(serial) : new AdbDevice(serial);
}

export interface RunOptions {
    task: string;
    deviceType: DeviceType;
    /** --device, as given (empty: the only connected device). */
    devices: string[];
    lang: AgentLang;
    maxSteps: number;
    /** Per step (upstream's max_tokens, 3000). */
    maxTokens?: number;
    strictActions: boolean;
    yes: boolean;
    json: boolean;
    record?: string;
    timing: ActionTiming;
    color: boolean;
    stdin: NodeJS.ReadStream;
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream;
    /** Opens the model engine once the devices have passed their checks. */
    openEngine: () => Promise<Engine>;
    date?: Date;
    sleep?: Sleep;
}

export interface RunOutcome {
    /** One line per failed check, when the run stopped before its first step. */
    failures: string[];
    results: TaskResult[];
    /** 0: every task finished; 130: stopped by the user; 1: anything else. */
    exitCode: number;
}

export function exitCodeOf(results: TaskResult[]): number {
    if (results.length && results.every((r) => r.status === "finished")) return 0;
    if (results.some((r) => r.status === "interrupted")) return 130;
    return 1;
}

export async function runAgent(o: RunOptions): Promise<RunOutcome> {
    const record = o.record !== undefined ? await RunRecord.create(o.record, o.task) : undefined;
    const checked = await checkDevices(o.deviceType, o.devices);
    if (checked.failures.length) return { failures: checked.failures, results: [], exitCode: 1 };
    const engine = await o.openEngine();
    try {
        const model = await checkModel(engine);
        if (model) return { failures: [model], results: [], exitCode: 1 };
        const several = checked.serials.length > 1;
        const reporter: Reporter = o.json ? new JsonReporter(o.stdout) : new TerminalReporter(o.stdout, { several, color: o.color });
        const agents: Agent[] = [];
        const stopAll = () => {
            for (const a of agents) a.stop();
        };
        const confirm = confirmPolicy({ yes: o.yes, input: o.stdin, output: o.stderr, several, onStop: stopAll });
        for (const serial of checked.serials)
            agents.push(
                new Agent({
                    engine,
                    device: openDevice(o.deviceType, serial),
                    confirm,
                    lang: o.lang,
                    maxSteps: o.maxSteps,
                    ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
                    strictActions: o.strictActions,
                    timing: o.timing,
                    ...(o.date ? { date: o.date } : {}),
                    ...(o.sleep ? { sleep: o.sleep } : {}),
                    onEvent: (e) => {
                        reporter.event(e);
                        if (e.type === "step") record?.step(e.report);
                    },
                }),
            );
        const unlisten = stopOnSignals(stopAll, (line) => o.stderr.write(`autoglm: ${line}\n`));
        let results: TaskResult[] = [];
        try {
            // A task that fails unexpectedly stops the others (no phone goes on unwatched), then its error is thrown.
            const settled = await Promise.allSettled(
                agents.map(async (a) => {
                    try {
                        const r = await a.run(o.task);
                        reporter.result(r);
                        return r;
                    } catch (e) {
                        stopAll();
                        throw e;
                    }
                }),
            );
            results = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
            const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
            if (failed) throw failed.reason;
        } finally {
            unlisten();
            await record?.close(results);
        }
        return { failures: [], results, exitCode: exitCodeOf(results) };
    } finally {
        await engine.dispose();
    }
}
