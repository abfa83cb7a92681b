// `autoglm completion bash|zsh`: a shell completion script generated from the commander tree
// (commands, their flags and llama.cpp spellings, the values of flags with choices), so it cannot
// drift from the CLI. Flags that take a value other than a choice complete file names.

import { Command, type Option } from "commander";
import { UserError } from "../../core/errors.js";
import { aliasesFor } from "../aliases.js";

interface Spec {
    name: string;
    description: string;
    flags: string[];
    choices: Record<string, string[]>;
    valued: string[];
    options: Option[];
}

function specs(program: Command): Spec[] {
    return program.commands.map((c) => {
        const options = c.options as Option[];
        const flags = options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f)));
        const choices: Record<string, string[]> = {},
            valued: string[] = [];
        for (const o of options) {
            const names = [o.short, o.long].filter((f): f is string => Boolean(f));
            if (o.argChoices) for (const n of names) choices[n] = o.argChoices;
            else if (o.required || o.optional) valued.push(...names);
        }
        for (const [alias, to] of aliasesFor(c.name())) {
            if (!flags.includes(to)) continue;
            flags.push(alias);
            if (choices[to]) choices[alias] = choices[to]!;
            else if (valued.includes(to)) valued.push(alias);
        }
        return { name: c.name(), description: c.description(), flags: [...flags, "--help"], choices, valued, options };
    });
}

function bash(program: Command): string {
    const cmds = specs(program);
    const cases = cmds
        .map((s) => {
            const choice = Object.entries(s.choices)
                .map(([f, v]) => `                ${f}) COMPREPLY=($(compgen -W "${v.join(" ")}" -- "$cur")); return ;;`)
                .join("\n");
            const files = s.valued.length ? `                ${s.valued.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;` : "";
            return `        ${[s.name, ...program.commands.find((c) => c.name() === s.name)!.aliases()].join("|")})
            case "$prev" in
${[choice, files].filter(Boolean).join("\n")}
            esac
            opts="${s.flags.join(" ")}" ;;`;
        })
        .join("\n");
    const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
    return `# autoglm completion for bash: source <(autoglm completion bash)
_autoglm() {
    local cur prev opts
    cur="\${COMP_WORDS[COMP_CWORD]}"
    prev="\${COMP_WORDS[COMP_CWORD-1]}"
    if [[ \${COMP_CWORD} -eq 1 ]]; then
        COMPREPLY=($(compgen -W "${names.join(" ")} --list-devices --help --version" -- "$cur"))
        return
    fi
    case "\${COMP_WORDS[1]}" in
${cases}
        *) return ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _autoglm autoglm
`;
}

/** A zsh _arguments spec's description: without the characters _arguments gives meaning. */
const zq = (s: string) =>
    s
        .replace(/[[\]:'\\]/g, " ")
        .replace(/\s+/g, " ")
        .trim();

function zsh(program: Command): string {
    const cmds = specs(program);
    const functions = cmds
        .map((s) => {
            const lines = s.options.flatMap((o) => {
                const names = [o.short, o.long].filter((f): f is string => Boolean(f));
                const value = o.argChoices ? `:value:(${o.argChoices.join(" ")})` : o.required || o.optional ? ":value:_files" : "";
                return names.map((n) => `        '${n}[${zq(o.description)}]${value}'`);
            });
            return `_autoglm_${s.name.replace(/-/g, "_")}() {
    _arguments \\
${[...lines, "        '--help[show help]'", "        '*:file:_files'"].join(" \\\n")}
}`;
        })
        .join("\n\n");
    const list = cmds.map((s) => `        '${s.name}:${zq(s.description)}'`).join("\n");
    const dispatch = cmds
        .map(
            (s) =>
                `        ${[s.name, ...program.commands.find((c) => c.name() === s.name)!.aliases()].join("|")}) _autoglm_${s.name.replace(/-/g, "_")} ;;`,
        )
        .join("\n");
    return `#compdef autoglm
# autoglm completion for zsh: source <(autoglm completion zsh), or save as _autoglm on $fpath
${functions}

_autoglm() {
    local -a commands
    commands=(
${list}
    )
    if (( CURRENT == 2 )); then
        _describe 'command' commands
        return
    fi
    words=("\${(@)words[2,-1]}")
    (( CURRENT-- ))
    case "\${words[1]}" in
${dispatch}
    esac
}

compdef _autoglm autoglm
`;
}

export function completionCommand(program: () => Command): Command {
    return new Command("completion")
        .description("print a shell completion script: source <(autoglm completion bash), or zsh")
        .argument("<shell>", "bash or zsh")
        .action((shell: string) => {
            if (shell === "bash") process.stdout.write(bash(program()));
            else if (shell === "zsh") process.stdout.write(zsh(program()));
            else throw new UserError(`completion: no script for ${JSON.stringify(shell)} (bash or zsh)`);
        });
}
