// `autoglm agent "TASK"`: operates a phone (adb or hdc) with AutoGLM-Phone-9B, as Open-AutoGLM's
// main.py does, in process or against an OpenAI-compatible server (--url). Also --list-devices and
// --list-apps, which need no model.

import { Command, Option } from "commander";
import { UserError } from "../../core/errors.js";
import type { Engine } from "../../engine/turn.js";
import { appTable, type DeviceType } from "../../agent/apps.js";
import { checkTool, listDevices } from "../../agent/checks.js";
import type { AgentLang } from "../../agent/prompts.js";
import { runAgent } from "../../agent/run.js";
import { takesGbnf } from "../../remote/capabilities.js";
import { AGENT_MAX_TOKENS, AGENT_SAMPLING, DEFAULT_MAX_STEPS } from "../../agent/sampling.js";
import { timingFromEnv } from "../../agent/timing.js";
import { table } from "../format.js";
import { addMediaOptions, addModelOptions, encoderFromFlags, type MediaFlags, type ModelFlags } from "../model-options.js";
import { openRuntime } from "../open-engine.js";
import { addRemoteOptions, checkRemoteFlags, LOCAL_MODEL_FLAGS, openRemote, type RemoteFlags } from "../remote-options.js";
import { numberOption } from "../parse.js";
import { colorEnabled, escapeControls } from "../terminal-text.js";

export interface AgentFlags extends ModelFlags, MediaFlags, RemoteFlags {
    maxTokens: number;
    device: string[];
    deviceType: DeviceType;
    lang: AgentLang;
    maxSteps: number;
    strictActions?: boolean;
    yes?: boolean;
    record?: string;
    json?: boolean;
    listDevices?: boolean;
    listApps?: boolean;
}

/**
 * The model engine the flags name: the in-process Runtime over -m/--mmproj (or the demo model), one
 * slot per phone; or the OpenAI-compatible server at --url (--model: its served name, default the
 * only one it serves).
 */
export async function openAgentEngine(f: AgentFlags, cmd: Command, log: (line: string) => void): Promise<Engine> {
    if (f.url) {
        const engine = await openRemote(f, cmd, log);
        const server = engine.capabilities.server;
        // Refused before the first step (a turn would refuse it too, after the phone was checked).
        if (f.strictActions && !takesGbnf(engine.capabilities)) {
            await engine.dispose();
            throw new UserError(
                `--strict-actions sends a GBNF grammar, which ${server ? `a ${server} server` : `the engine at ${f.url}`} does not take: leave --strict-actions out, or use autoglm serve or llama-server`,
            );
        }
        return engine;
    }
    const encoder = await encoderFromFlags(f, "vision encoder");
    if (!encoder.mmproj)
        throw new UserError(
            "--mmproj is required with --model: the agent sends screenshots, so give the vision encoder GGUF that belongs to the model",
        );
    if (!encoder.encoderCaps?.vision) throw new UserError(`${encoder.mmproj} has no vision encoder: the agent sends screenshots`);
    return openRuntime(f, { ...encoder, imageMaxPixels: f.imageMaxPixels, slots: Math.max(1, f.device.length) }, log, AGENT_SAMPLING);
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function agentCommand(): Command {
    const cmd = addRemoteOptions(
        addMediaOptions(
            addModelOptions(
                new Command("agent").description(
                    "operate a phone with AutoGLM-Phone-9B: screenshot, think, act, until the task is done (Open-AutoGLM's loop; Android via adb, HarmonyOS via hdc)",
                ),
            ),
            { mmproj: "the vision encoder GGUF (mmproj) that belongs to --model", imagePixels: true },
        ),
    )
        .argument("[task]", 'what to do, in words ("打开微信给文件传输助手发消息：你好", "Open Chrome and search for the weather")')
        .option(
            "--device <serial>",
            "the phone to use (adb devices / hdc list targets); repeat it to run the task on several phones at once",
            collect,
            [],
        )
        .addOption(new Option("--device-type <type>", "adb (Android) or hdc (HarmonyOS)").choices(["adb", "hdc"]).default("adb"))
        .addOption(new Option("--lang <lang>", "the system prompt's language").choices(["cn", "en"]).default("cn"))
        .option(
            "--max-steps <n>",
            "give up after this many steps",
            numberOption("--max-steps", { integer: true, positive: true }),
            DEFAULT_MAX_STEPS,
        )
        .option(
            "-n, --max-tokens <n>",
            "longest answer (thinking and action) per step, in tokens",
            numberOption("--max-tokens", { integer: true, positive: true }),
            AGENT_MAX_TOKENS,
        )
        .option(
            "--strict-actions",
            "constrain each answer to the action language with a grammar (the thinking stays free), so every step parses",
        )
        .option("--yes", "allow sensitive actions (a tap the model marks as sensitive, handing over to you) without asking")
        .option(
            "--record <dir>",
            "save every screenshot (with the tap or swipe drawn on it), the raw output, the action and timings, and index.html to replay the run",
        )
        .option("--json", "print one JSON object per step and one per result")
        .option("--list-devices", "list the connected phones and exit")
        .option("--list-apps", "list the app names Launch knows (for --device-type) and exit")
        .addHelpText(
            "after",
            `
Before the first step it checks that adb/hdc is on PATH, the phone is connected, ADB Keyboard is installed and enabled
(Android types through it) and the model answers; each failure is one line saying how to fix it.
Sensitive actions ask at the terminal; without a terminal they are refused (the task ends) unless --yes.
Ctrl-C stops after the action under way. PHONE_AGENT_*_DELAY variables (seconds) set the waits after
each action, as in Open-AutoGLM (PHONE_AGENT_TAP_DELAY, PHONE_AGENT_TEXT_INPUT_DELAY, ...).
Exit code: 0 when every task finished, 130 when stopped, 1 otherwise.`,
        )
        .action(async (task: string | undefined, f: AgentFlags) => {
            const out = process.stdout;
            if (f.listApps) {
                const apps = appTable(f.deviceType).list();
                if (f.json) out.write(`${JSON.stringify(apps.map(([name, pkg]) => ({ name, package: pkg })))}\n`);
                else out.write(`${table(["app", f.deviceType === "hdc" ? "bundle" : "package"], apps)}\n`);
                return;
            }
            if (f.listDevices) {
                const missing = await checkTool(f.deviceType);
                if (missing) throw new UserError(missing);
                const devices = await listDevices(f.deviceType);
                if (f.json) out.write(`${JSON.stringify(devices)}\n`);
                else if (!devices.length) out.write(`no ${f.deviceType === "hdc" ? "HarmonyOS" : "Android"} device is connected\n`);
                else
                    out.write(
                        `${table(
                            ["serial", "state", "model"],
                            devices.map((d) => [d.serial, d.state, d.model ?? ""]),
                        )}\n`,
                    );
                return;
            }
            if (!task?.trim()) throw new UserError('give the task: autoglm agent "open Settings and turn on Wi-Fi"');
            checkRemoteFlags(cmd, f, LOCAL_MODEL_FLAGS, ["apiKey"]);
            const log = (line: string) => process.stderr.write(`${line}\n`);
            const outcome = await runAgent({
                task,
                deviceType: f.deviceType,
                devices: f.device,
                lang: f.lang,
                maxSteps: f.maxSteps,
                maxTokens: f.maxTokens,
                strictActions: Boolean(f.strictActions),
                yes: Boolean(f.yes),
                json: Boolean(f.json),
                ...(f.record !== undefined ? { record: f.record } : {}),
                timing: timingFromEnv(),
                color: colorEnabled() && Boolean(out.isTTY),
                stdin: process.stdin,
                stdout: out,
                stderr: process.stderr,
                openEngine: () => openAgentEngine(f, cmd, log),
            });
            for (const line of outcome.failures) process.stderr.write(`autoglm: ${escapeControls(line)}\n`);
            process.exitCode = outcome.exitCode;
        });
    return cmd;
}
