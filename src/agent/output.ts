// What the agent shows while it works. At a terminal: one line per step (step, app, action, the
// timings screenshot / encode / prefill / decode / action) with the model's thinking dimmed under
// it, then the result. With --json: one JSON object per step and one per result, a line each.

import { formatDuration } from "../cli/format.js";
import { dim, escapeControls } from "../cli/terminal-text.js";
import { describeAction } from "./action.js";
import type { AgentEvent, StepReport, TaskResult } from "./agent.js";
import type { Gesture } from "./handler.js";

export interface Reporter {
    event(e: AgentEvent): void;
    result(r: TaskResult): void;
}

function gestureText(g: Gesture | undefined): string {
    if (!g) return "";
    return g.kind === "swipe" ? ` -> (${g.x1},${g.y1})-(${g.x2},${g.y2})` : ` -> (${g.x},${g.y})`;
}

/** The step's line, without colour. */
export function stepLine(r: StepReport, several: boolean): string {
    const t = r.timings;
    const who = several ? `[${r.serial}] ` : "";
    const what = r.action
        ? `${describeAction(r.action)}${gestureText(r.outcome?.gesture)}${r.outcome?.message ? ` (${r.outcome.message})` : ""}`
        : `unreadable answer: ${r.parseError}${r.attempt === 1 ? "; asking again" : ""}`;
    const cached = t.cachedTokens ? ` (${t.cachedTokens}/${t.promptTokens} tokens cached)` : "";
    const timings = [
        `screenshot ${formatDuration(t.screenshotMs)}`,
        `encode ${formatDuration(t.encodeMs)}`,
        `prefill ${formatDuration(t.prefillMs)}${cached}`,
        `decode ${formatDuration(t.decodeMs)}`,
        ...(r.action ? [`action ${formatDuration(t.actionMs)}`] : []),
    ].join(" · ");
    const shot = r.screenshot.fallback ? ` [black screenshot: ${r.screenshot.fallback}]` : "";
    return escapeControls(`${who}step ${r.step}${r.attempt > 1 ? " (again)" : ""} | ${r.app} | ${what}${shot} | ${timings}`);
}

export function resultLine(r: TaskResult, several: boolean): string {
    const who = several ? `[${r.serial}] ` : "";
    const steps = `${r.steps} step${r.steps === 1 ? "" : "s"}`;
    const head = r.status === "finished" ? `finished after ${steps}` : `${r.status.replace("_", " ")} after ${steps}`;
    return escapeControls(`${who}${head}: ${r.message}`);
}

export class TerminalReporter implements Reporter {
    constructor(
        private readonly out: NodeJS.WritableStream,
        private readonly o: { several: boolean; color: boolean },
    ) {}

    event(e: AgentEvent): void {
        if (e.type !== "step") return;
        this.out.write(`${stepLine(e.report, this.o.several)}\n`);
        const thinking = e.report.thinking.trim();
        if (thinking) {
            const indented = escapeControls(thinking)
                .split("\n")
                .map((l) => `    ${l}`)
                .join("\n");
            this.out.write(`${dim(indented, this.o.color)}\n`);
        }
    }

    result(r: TaskResult): void {
        this.out.write(`${resultLine(r, this.o.several)}\n`);
    }
}

/** A step as --json prints it. */
export function stepJson(r: StepReport) {
    return {
        type: "step",
        device: r.serial,
        step: r.step,
        attempt: r.attempt,
        app: r.app,
        thinking: r.thinking,
        answer: r.answer,
        raw: r.raw,
        action: r.action ?? null,
        parse_error: r.parseError ?? null,
        ok: r.outcome?.ok ?? false,
        message: r.outcome?.message ?? null,
        gesture: r.outcome?.gesture ?? null,
        screenshot: {
            width: r.screenshot.width,
            height: r.screenshot.height,
            sensitive: r.screenshot.sensitive,
            fallback: r.screenshot.fallback ?? null,
        },
        timings_ms: {
            screenshot: Math.round(r.timings.screenshotMs),
            encode: Math.round(r.timings.encodeMs),
            prefill: Math.round(r.timings.prefillMs),
            decode: Math.round(r.timings.decodeMs),
            action: Math.round(r.timings.actionMs),
        },
        tokens: { prompt: r.timings.promptTokens, cached: r.timings.cachedTokens, completion: r.timings.completionTokens },
    };
}

export function resultJson(r: TaskResult) {
    return {
        type: "result",
        device: r.serial,
        status: r.status,
        message: r.message,
        steps: r.steps,
        ...(r.raw !== undefined ? { raw: r.raw } : {}),
    };
}

export class JsonReporter implements Reporter {
    constructor(private readonly out: NodeJS.WritableStream) {}

    event(e: AgentEvent): void {
        if (e.type === "step") this.out.write(`${JSON.stringify(stepJson(e.report))}\n`);
    }

    result(r: TaskResult): void {
        this.out.write(`${JSON.stringify(resultJson(r))}\n`);
    }
}
