// One phone, whatever its tool (adb for Android, hdc for HarmonyOS): what the loop reads from it and
// the gestures the action handler sends. Pixel coordinates here; the handler converts the model's.

import type { AppTable, DeviceType } from "./apps.js";

export interface Screenshot {
    /** PNG bytes, as the model receives them. */
    png: Buffer;
    width: number;
    height: number;
    /** The screen refused to be captured (a payment or password page): the image is black. */
    sensitive: boolean;
    /** Why the image is Open-AutoGLM's black 1080x2400 stand-in rather than the screen, when it is. */
    fallback?: string;
}

export interface DeviceInfo {
    serial: string;
    /** "device" when usable; adb also says "unauthorized", "offline", "no permissions", ... */
    state: string;
    model?: string;
}

export interface Device {
    readonly type: DeviceType;
    readonly serial: string;
    /** The app table Launch and the current app go through. */
    readonly apps: AppTable;
    screenshot(): Promise<Screenshot>;
    /** The foreground app's name from the table ("System Home" when none is known). */
    currentApp(): Promise<string>;
    tap(x: number, y: number): Promise<void>;
    /** Two taps `intervalMs` apart (HarmonyOS has a gesture of its own). */
    doubleTap(x: number, y: number, intervalMs: number): Promise<void>;
    longPress(x: number, y: number): Promise<void>;
    /** A swipe whose duration follows the distance, as upstream computes it per platform. */
    swipe(x1: number, y1: number, x2: number, y2: number): Promise<void>;
    back(): Promise<void>;
    home(): Promise<void>;
    /** Starts the app the table names; false when the name is not in the table. */
    launch(app: string): Promise<boolean>;
    // Typing, in upstream's four steps (the handler waits between them):
    /** Makes the text-input method active; returns what to restore afterwards ("" for nothing). */
    switchKeyboard(): Promise<string>;
    clearText(): Promise<void>;
    typeText(text: string): Promise<void>;
    restoreKeyboard(previous: string): Promise<void>;
}
