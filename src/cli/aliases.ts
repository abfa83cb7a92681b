// llama.cpp's and llama-bench's spellings of autoglm's flags, rewritten in argv before commander
// parses it. This is the one place they are defined: commander takes only one-letter short flags
// (it would read `-ngl 99` as `-n gl 99`) and one long name per option, and the help text lists
// this table.

/** Per command ("*": every command), the spelling users type -> autoglm's flag. */
export const FLAG_ALIASES: Record<string, Record<string, string>> = {
    "*": {
        "-ngl": "--gpu-layers",
        "--n-gpu-layers": "--gpu-layers",
        "-fa": "--flash-attn",
        "-ctk": "--cache-type-k",
        "-ctv": "--cache-type-v",
    },
    chat: { "--n-predict": "--max-tokens", "-sys": "--system", "--system-prompt": "--system" },
    describe: { "--n-predict": "--max-tokens", "--question": "--prompt", "-q": "--prompt" },
    "transcribe-and-answer": { "--n-predict": "--max-tokens", "--question": "--prompt", "-q": "--prompt" },
    serve: { "-np": "--parallel", "--n-predict": "--max-tokens" },
    bench: { "--p": "--n-prompt", "--n": "--n-gen", "--r": "--repetitions" },
};

/** Top-level spellings that name a command. */
export const COMMAND_ALIASES: Record<string, string> = { "--list-devices": "devices" };

/** The aliases that apply to `command`, for its help text. */
export function aliasesFor(command: string): [string, string][] {
    return Object.entries({ ...FLAG_ALIASES["*"], ...FLAG_ALIASES[command] });
}

/** argv (node, script, ...args) with aliases replaced, up to a `--` (what follows it is left alone). */
export function rewriteArgv(argv: string[], commands: string[]): string[] {
    const [node, script, ...args] = argv;
    const commandAt = args.findIndex((a) => !a.startsWith("-") || a in COMMAND_ALIASES);
    if (commandAt < 0) return argv;
    const first = args[commandAt]!;
    if (first in COMMAND_ALIASES) args[commandAt] = COMMAND_ALIASES[first]!;
    const command = args[commandAt]!;
    if (!commands.includes(command)) return [node!, script!, ...args];
    const table = Object.fromEntries(aliasesFor(command));
    const out = args.slice(0, commandAt + 1);
    for (let i = commandAt + 1; i < args.length; i++) {
        const a = args[i]!;
        if (a === "--") {
            out.push(...args.slice(i));
            break;
        }
        const eq = a.indexOf("=");
        const name = eq > 0 ? a.slice(0, eq) : a;
        const to = table[name];
        out.push(to ? (eq > 0 ? `${to}${a.slice(eq)}` : to) : a);
    }
    return [node!, script!, ...out];
}
