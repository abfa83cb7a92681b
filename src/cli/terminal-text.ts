// Model text on a terminal: a random or adversarial model can emit any byte, and C0/C1 controls or
// ESC sequences would move the cursor, clear the screen or retitle the window. They are shown as
// visible escapes instead; colour follows NO_COLOR (https://no-color.org).

// C0 controls but \t and \n, DEL, and the C1 range (U+0080-U+009F, CSI among them).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** `text` with every control character but \n and \t written as a visible `\xNN` escape. */
export function escapeControls(text: string): string {
    return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Colour is on unless NO_COLOR is set to anything but the empty string. */
export function colorEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
    return !env.NO_COLOR;
}

/** Dimmed text (the model's thinking), or the text as it is without colour. */
export function dim(text: string, color = colorEnabled()): string {
    return color ? `\x1b[2m${text}\x1b[22m` : text;
}
