// The phone agent's loop (Open-AutoGLM's PhoneAgent.run/_execute_step): each step takes a
// screenshot and the current app, asks the model through the Engine with the history, parses one
// action and runs it, until the model says finish or the steps run out. Where upstream turns
// failures into "finished" (a model error, an unparseable answer, a handler exception), each has a
// status of its own here; an unparseable answer is asked again once, with a fresh screenshot.

import type { Engine, TurnEvent, TurnResult, TurnSession } from "../engine/turn.js";
import type { Action } from "./action.js";
import type { Device, Screenshot } from "./device.js";
import { ACTION_GRAMMAR } from "./grammar.js";
import { type ActionOutcome, ActionHandler, type Confirm, type Sleep, sleep, type TaskStatus } from "./handler.js";
import { History, userText } from "./history.js";
import { ActionParseError, parseAction, splitResponse } from "./parse.js";
import { type AgentLang, systemPrompt } from "./prompts.js";
import { AGENT_MAX_TOKENS, AGENT_SAMPLING, DEFAULT_MAX_STEPS } from "./sampling.js";
import { type ActionTiming, timingFromEnv } from "./timing.js";
import { DeviceError } from "./tool.js";

export interface AgentOptions {
    engine: Engine;
    device: Device;
    /** Asked before a sensitive action (a Tap with message=, Take_over). */
    confirm: Confirm;
    lang?: AgentLang;
    maxSteps?: number;
    /** The longest answer per step (default upstream's 3000). */
    maxTokens?: number;
    /** Constrain each answer with the action grammar (an engine that takes GBNF: the in-process Runtime). */
    strictActions?: boolean;
    timing?: ActionTiming;
    /** The date in the system prompt (default: now, once per agent, as upstream computes it once). */
    date?: Date;
    sleep?: Sleep;
    onEvent?: (event: AgentEvent) => void;
}

export interface StepTimings {
    screenshotMs: number;
    encodeMs: number;
    prefillMs: number;
    decodeMs: number;
    actionMs: number;
    promptTokens: number;
    cachedTokens: number;
    completionTokens: number;
}

export interface StepReport {
    serial: string;
    step: number;
    /** 1, or 2 when the first answer of the step could not be parsed. */
    attempt: number;
    app: string;
    screenshot: Screenshot;
    /** What the model generated, as it came. */
    raw: string;
    thinking: string;
    answer: string;
    action?: Action;
    parseError?: string;
    outcome?: ActionOutcome;
    timings: StepTimings;
}

export type AgentEvent =
    | { type: "step-start"; serial: string; step: number; attempt: number }
    | { type: "model"; serial: string; step: number; event: TurnEvent }
    | { type: "step"; report: StepReport };

export interface TaskResult {
    serial: string;
    status: TaskStatus;
    /** finish's message, or what went wrong. */
    message: string;
    steps: number;
    /** The model's raw text when it could not be parsed. */
    raw?: string;
}

/** The retry of an unparseable answer is the step's second and last attempt. */
const ATTEMPTS = 2;

export class Agent {
    private readonly engine: Engine;
    private readonly device: Device;
    private readonly handler: ActionHandler;
    private readonly maxSteps: number;
    private readonly maxTokens: number;
    private readonly strict: boolean;
    private readonly prompt: string;
    private readonly emit: (event: AgentEvent) => void;
    private readonly stopper = new AbortController();
    private turn: AbortController | undefined;
    /** The prefill of the next step's history, running during the action, and its end. */
    private ahead: AbortController | undefined;
    private aheadDone: Promise<void> = Promise.resolve();
    private conversation: History | undefined;

    constructor(o: AgentOptions) {
        this.engine = o.engine;
        this.device = o.device;
        this.maxSteps = o.maxSteps ?? DEFAULT_MAX_STEPS;
        this.maxTokens = o.maxTokens ?? AGENT_MAX_TOKENS;
        this.strict = Boolean(o.strictActions);
        this.prompt = systemPrompt(o.lang ?? "cn", o.date ?? new Date());
        this.emit = o.onEvent ?? (() => {});
        this.handler = new ActionHandler(o.device, o.timing ?? timingFromEnv(), o.confirm, o.sleep ?? sleep);
    }

    get serial(): string {
        return this.device.serial;
    }

    /** The conversation of the task that runs or ran last. */
    get history(): History | undefined {
        return this.conversation;
    }

    /** Ends the task after the action under way (a model turn under way is cancelled: nothing on the phone is half-done by that). */
    stop(): void {
        if (this.stopper.signal.aborted) return;
        this.stopper.abort();
        this.turn?.abort();
        this.ahead?.abort();
    }

    get stopped(): boolean {
        return this.stopper.signal.aborted;
    }

    async run(task: string): Promise<TaskResult> {
        const serial = this.device.serial;
        const history = new History(this.prompt);
        this.conversation = history;
        let steps = 0;
        const end = (status: TaskStatus, message: string, raw?: string): TaskResult => ({
            serial,
            status,
            message,
            steps,
            ...(raw !== undefined ? { raw } : {}),
        });
        const interrupted = () => end("interrupted", "stopped by the user");
        let session: TurnSession;
        try {
            session = await this.engine.openSession();
        } catch (e) {
            return end("error", `model error: ${(e as Error).message}`);
        }
        try {
            for (let step = 1; step <= this.maxSteps; step++) {
                if (this.stopped) return interrupted();
                steps = step;
                let parsed:
                    | { text: string; shot: Screenshot; thinking: string; answer: string; action: Action; report: StepReport }
                    | undefined;
                for (let attempt = 1; !parsed; attempt++) {
                    this.emit({ type: "step-start", serial, step, attempt });
                    const t0 = performance.now();
                    const shot = await this.device.screenshot();
                    const app = await this.device.currentApp();
                    const screenshotMs = performance.now() - t0;
                    if (this.stopped) return interrupted();
                    const text = userText(app, step === 1 ? task : undefined);
                    const answered = await this.ask(history.request(shot.png, text), session, step);
                    if (answered.kind === "interrupted") return interrupted();
                    if (answered.kind === "error") return end("error", answered.message);
                    const r = answered.result;
                    const raw = r.raw || r.content;
                    const { thinking, answer } = splitResponse(raw);
                    const report: StepReport = {
                        serial,
                        step,
                        attempt,
                        app,
                        screenshot: shot,
                        raw,
                        thinking,
                        answer,
                        timings: {
                            screenshotMs,
                            encodeMs: r.timings.encodeMs,
                            prefillMs: r.timings.promptMs,
                            decodeMs: r.timings.decodeMs,
                            actionMs: 0,
                            promptTokens: r.usage.promptTokens,
                            cachedTokens: r.usage.cachedTokens,
                            completionTokens: r.usage.completionTokens,
                        },
                    };
                    try {
                        parsed = { text, shot, thinking, answer, action: parseAction(answer), report };
                    } catch (e) {
                        if (!(e instanceof ActionParseError)) throw e;
                        report.parseError = e.message;
                        this.emit({ type: "step", report });
                        if (attempt >= ATTEMPTS)
                            return end(
                                "failed",
                                `the model's answer is not an action (${e.message}), twice; it said: ${raw.trim() || "(nothing)"}`,
                                raw,
                            );
                    }
                }
                history.commit(parsed.text, parsed.thinking, parsed.answer);
                if (parsed.action.action !== "finish" && step < this.maxSteps) this.prefillAhead(session, history);
                const t1 = performance.now();
                const outcome = await this.handler.execute(parsed.action, parsed.shot.width, parsed.shot.height, this.stopper.signal);
                const report = { ...parsed.report, action: parsed.action, outcome };
                report.timings.actionMs = performance.now() - t1;
                this.emit({ type: "step", report });
                if (outcome.end)
                    return end(
                        outcome.end.status,
                        outcome.end.status === "finished" ? outcome.end.message || "Task completed" : outcome.end.message,
                    );
            }
            return end("max_steps", `Max steps reached (${this.maxSteps})`);
        } catch (e) {
            if (e instanceof DeviceError) return end("error", e.message);
            throw e;
        } finally {
            // Nothing runs on the session once its task ends: a prefill under way is stopped and waited for.
            this.ahead?.abort();
            await this.aheadDone;
            session.close();
        }
    }

    /**
     * While the phone acts and waits, the engine evaluates the history the next step starts with
     * (this step's text and the answer, rebuilt, where the screenshot was), when it can (a local
     * runtime): the next turn then evaluates only the new screenshot and its text. A failure here
     * is left to that turn, which evaluates the same text itself and reports it.
     */
    private prefillAhead(session: TurnSession, history: History): void {
        if (!session.prefill) return;
        const controller = new AbortController();
        this.ahead = controller;
        this.aheadDone = session.prefill([...history.messages], { signal: controller.signal }).then(
            () => {},
            () => {},
        );
    }

    /** One model turn; a cancelled turn is "interrupted", an engine failure an "error" with its message. */
    private async ask(
        messages: ReturnType<History["request"]>,
        session: TurnSession,
        step: number,
    ): Promise<{ kind: "answer"; result: TurnResult } | { kind: "interrupted" } | { kind: "error"; message: string }> {
        const controller = new AbortController();
        this.turn = controller;
        try {
            const result = await this.engine.turn(
                {
                    messages,
                    sampling: AGENT_SAMPLING,
                    maxTokens: this.maxTokens,
                    // The agent splits the thinking itself, as upstream does, from the text as generated.
                    splitThinking: false,
                    session,
                    signal: controller.signal,
                    ...(this.strict ? { grammar: { gbnf: ACTION_GRAMMAR } } : {}),
                },
                (event) => this.emit({ type: "model", serial: this.device.serial, step, event }),
            );
            if (result.finish === "aborted" || this.stopped) return { kind: "interrupted" };
            if (result.contextFull)
                return {
                    kind: "error",
                    message: `the conversation no longer fits the model's context (${result.usage.promptTokens} prompt tokens): give the engine a larger context, or a lower --max-steps`,
                };
            return { kind: "answer", result };
        } catch (e) {
            if (controller.signal.aborted) return { kind: "interrupted" };
            return { kind: "error", message: `model error: ${(e as Error).message}` };
        } finally {
            this.turn = undefined;
        }
    }
}
