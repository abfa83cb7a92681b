// Open-AutoGLM's action handler (phone_agent/actions/handler.py): one parsed action -> the device's
// gestures, the model's 0-999 coordinates converted as x/1000*W, and upstream's waits after each.
// Sensitive actions ask first. A gesture that fails is reported to the loop and the task goes on
// (as upstream); a device that has gone ends the task.

import type { Action, Point } from "./action.js";
import type { Device } from "./device.js";
import type { ActionTiming } from "./timing.js";
import { DeviceGoneError } from "./tool.js";

/** How a task ended. */
export type TaskStatus = "finished" | "max_steps" | "failed" | "refused" | "cancelled" | "interrupted" | "error";

/** yes: go ahead; no: the user declined; refused: nobody could be asked; stop: the user stopped the task. */
export type Decision = "yes" | "no" | "refused" | "stop";

export interface ConfirmRequest {
    /** sensitive: a Tap with message= (payment, privacy); takeover: the user must act on the phone first. */
    kind: "sensitive" | "takeover";
    message: string;
    serial: string;
    /** Aborts when the task is stopped while the question waits: the answer is then "stop". */
    signal?: AbortSignal;
}

export type Confirm = (request: ConfirmRequest) => Promise<Decision>;

/** What a gesture did in pixels, for the record's drawing. */
export type Gesture =
    | { kind: "tap" | "double-tap" | "long-press"; x: number; y: number }
    | { kind: "swipe"; x1: number; y1: number; x2: number; y2: number };

export interface ActionOutcome {
    ok: boolean;
    /** Set when the task ends with this action. */
    end?: { status: TaskStatus; message: string };
    /** Why it did nothing (App not found, Unknown action, ...), or upstream's note for Interact. */
    message?: string;
    gesture?: Gesture;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A wait; with a signal, one that ends early when it aborts. */
export const sleep: Sleep = (ms, signal) =>
    new Promise((resolve) => {
        if (ms <= 0 || signal?.aborted) return resolve();
        const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
    });

/** A relative point -> pixels: int(x / 1000 * W), kept on the screen (upstream lets 1000 fall one pixel off it). */
export function toPixels(p: Point, width: number, height: number): [number, number] {
    const conv = (v: number, size: number) => Math.min(Math.max(Math.trunc((v / 1000) * size), 0), size - 1);
    return [conv(p[0], width), conv(p[1], height)];
}

/** Upstream's Wait: float(duration without "seconds"), 1 s when that is not a number. */
export function waitSeconds(duration: string): number {
    const text = duration.replace("seconds", "").trim();
    const n = text ? Number(text) : Number.NaN;
    return Number.isFinite(n) && n >= 0 ? n : 1;
}

export class ActionHandler {
    constructor(
        private readonly device: Device,
        private readonly timing: ActionTiming,
        private readonly confirm: Confirm,
        private readonly wait: Sleep = sleep,
    ) {}

    /**
     * Runs `action` on a screen of `width` x `height` pixels (the screenshot the model saw). `stop`
     * cuts a Wait short; nothing else is interrupted half-way (typing least of all).
     */
    async execute(action: Action, width: number, height: number, stop?: AbortSignal): Promise<ActionOutcome> {
        try {
            return await this.run(action, width, height, stop);
        } catch (e) {
            if (e instanceof DeviceGoneError) throw e;
            return { ok: false, message: `Action failed: ${(e as Error).message}` };
        }
    }

    private async ask(kind: ConfirmRequest["kind"], message: string, stop?: AbortSignal): Promise<ActionOutcome | undefined> {
        const decision = stop?.aborted
            ? "stop"
            : await this.confirm({ kind, message, serial: this.device.serial, ...(stop ? { signal: stop } : {}) });
        if (decision === "yes") return undefined;
        const what = kind === "sensitive" ? `the sensitive action "${message}"` : `the request to take over ("${message}")`;
        if (decision === "refused")
            return {
                ok: false,
                end: {
                    status: "refused",
                    message: `refused ${what}: there is no terminal to confirm it at (rerun at a terminal, or with --yes to allow such actions)`,
                },
            };
        if (decision === "stop") return { ok: false, end: { status: "interrupted", message: `stopped at ${what}` } };
        return { ok: false, end: { status: "cancelled", message: "User cancelled sensitive operation" } };
    }

    private async run(action: Action, width: number, height: number, stop?: AbortSignal): Promise<ActionOutcome> {
        const d = this.device;
        const t = this.timing;
        const px = (p: Point) => toPixels(p, width, height);
        switch (action.action) {
            case "finish":
                return { ok: true, end: { status: "finished", message: action.message } };
            case "Launch": {
                if (!(await d.launch(action.app))) return { ok: false, message: `App not found: ${action.app}` };
                await this.wait(t.launchMs);
                return { ok: true };
            }
            case "Tap": {
                const [x, y] = px(action.element);
                if (action.message !== undefined) {
                    const refused = await this.ask("sensitive", action.message, stop);
                    if (refused) return refused;
                }
                await d.tap(x, y);
                await this.wait(t.tapMs);
                return { ok: true, gesture: { kind: "tap", x, y } };
            }
            case "Double Tap": {
                const [x, y] = px(action.element);
                await d.doubleTap(x, y, t.doubleTapIntervalMs);
                await this.wait(t.doubleTapMs);
                return { ok: true, gesture: { kind: "double-tap", x, y } };
            }
            case "Long Press": {
                const [x, y] = px(action.element);
                await d.longPress(x, y);
                await this.wait(t.longPressMs);
                return { ok: true, gesture: { kind: "long-press", x, y } };
            }
            case "Swipe": {
                const [x1, y1] = px(action.start);
                const [x2, y2] = px(action.end);
                await d.swipe(x1, y1, x2, y2);
                await this.wait(t.swipeMs);
                return { ok: true, gesture: { kind: "swipe", x1, y1, x2, y2 } };
            }
            case "Type":
            case "Type_Name":
                await this.type(action.text);
                return { ok: true };
            case "Back":
                await d.back();
                await this.wait(t.backMs);
                return { ok: true };
            case "Home":
                await d.home();
                await this.wait(t.homeMs);
                return { ok: true };
            case "Wait":
                await this.wait(waitSeconds(action.duration) * 1000, stop);
                return { ok: true };
            case "Take_over": {
                const refused = await this.ask("takeover", action.message, stop);
                return refused ?? { ok: true };
            }
            case "Interact":
                return { ok: true, message: "User interaction required" };
            case "Note":
            case "Call_API":
                return { ok: true };
            case "unknown":
                return { ok: false, message: `Unknown action: ${action.name}` };
        }
    }

    /** Switch to the text-input method, clear, type, switch back: the last step runs whatever happened before it. */
    private async type(text: string) {
        const d = this.device;
        const t = this.timing;
        const previous = await d.switchKeyboard();
        let failure: { error: unknown } | undefined;
        try {
            await this.wait(t.keyboardSwitchMs);
            await d.clearText();
            await this.wait(t.textClearMs);
            await d.typeText(text);
            await this.wait(t.textInputMs);
        } catch (error) {
            failure = { error };
        }
        try {
            await d.restoreKeyboard(previous);
            await this.wait(t.keyboardRestoreMs);
        } catch (error) {
            failure ??= { error }; // the first failure is the one to report
        }
        if (failure) throw failure.error;
    }
}
