// The built-in demo model's answers are noise (random weights): a one-shot command that would
// generate 1,024 tokens of it for minutes stops much sooner by default, and says so on stderr.
// A real model keeps the full default; -n always wins.

export const DEMO_DESCRIBE_TOKENS = 32;

export function demoAnswerNote(tokens: number): string {
    return `the demo model's answer is limited to ${tokens} tokens (its text is noise; -n to change)`;
}
