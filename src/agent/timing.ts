// How long the handler waits after each gesture for the phone to react, as Open-AutoGLM's
// config/timing.py sets it: 1 s after each action, 0.1 s between the taps of a double tap, 1 s after
// each of the four typing steps. Its PHONE_AGENT_*_DELAY variables (seconds) override each value.

import { UserError } from "../core/errors.js";

export interface ActionTiming {
    tapMs: number;
    doubleTapMs: number;
    doubleTapIntervalMs: number;
    longPressMs: number;
    swipeMs: number;
    backMs: number;
    homeMs: number;
    launchMs: number;
    keyboardSwitchMs: number;
    textClearMs: number;
    textInputMs: number;
    keyboardRestoreMs: number;
}

/** Each field's variable and its default in seconds. */
export const TIMING_VARIABLES: Record<keyof ActionTiming, [variable: string, seconds: number]> = {
    tapMs: ["PHONE_AGENT_TAP_DELAY", 1],
    doubleTapMs: ["PHONE_AGENT_DOUBLE_TAP_DELAY", 1],
    doubleTapIntervalMs: ["PHONE_AGENT_DOUBLE_TAP_INTERVAL", 0.1],
    longPressMs: ["PHONE_AGENT_LONG_PRESS_DELAY", 1],
    swipeMs: ["PHONE_AGENT_SWIPE_DELAY", 1],
    backMs: ["PHONE_AGENT_BACK_DELAY", 1],
    homeMs: ["PHONE_AGENT_HOME_DELAY", 1],
    launchMs: ["PHONE_AGENT_LAUNCH_DELAY", 1],
    keyboardSwitchMs: ["PHONE_AGENT_KEYBOARD_SWITCH_DELAY", 1],
    textClearMs: ["PHONE_AGENT_TEXT_CLEAR_DELAY", 1],
    textInputMs: ["PHONE_AGENT_TEXT_INPUT_DELAY", 1],
    keyboardRestoreMs: ["PHONE_AGENT_KEYBOARD_RESTORE_DELAY", 1],
};

/** The delays, each from its variable when set (a number of seconds >= 0), else upstream's default. */
export function timingFromEnv(env: NodeJS.ProcessEnv = process.env): ActionTiming {
    const timing = {} as ActionTiming;
    for (const [key, [variable, seconds]] of Object.entries(TIMING_VARIABLES) as [keyof ActionTiming, [string, number]][]) {
        const text = env[variable]?.trim();
        const value = text ? Number(text) : seconds;
        if (!Number.isFinite(value) || value < 0)
            throw new UserError(`${variable} must be a number of seconds >= 0, got ${JSON.stringify(env[variable])}`);
        timing[key] = Math.round(value * 1000);
    }
    return timing;
}

/** No waits at all (tests, and phones driven faster on purpose). */
export const NO_DELAYS: ActionTiming = Object.fromEntries(Object.keys(TIMING_VARIABLES).map((k) => [k, 0])) as unknown as ActionTiming;
