// Every command in the README's sh blocks: each autoglm invocation names a command and flags the
// CLI has (a synopsis line is checked for that only), and the concrete ones run as written, except
// those that need what CI lacks, each skipped with its reason.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command, Option } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/main.js"; // compiled, as the CLI runs it (npm test builds first)
import { aliasesFor } from "../src/cli/aliases.js";
import { defaultModel } from "../models/default-model.js";
import { BIN, ROOT } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";
import { HubStandIn, repoFromFolder } from "./helpers/hub.js";
import { generateCheckpoint } from "../models/synthetic/generate.js";

const execFileAsync = promisify(execFile);

/** Concrete commands not run here, and why. */
const SKIP: [RegExp, string][] = [
    [/^npm install/, "CI has just run npm install (and npm ci); the demo it chains runs below"],
    [/^npm test/, "this is the test suite itself"],
    [/^autoglm agent (?!--list-apps)/, "needs a phone on adb: test/agent-e2e.test.ts runs these with fake phones"],
];

/** The README's sh blocks as commands: a synopsis's indented continuation lines joined, comments cut. */
function readmeCommands(): string[] {
    const text = readFileSync(join(ROOT, "README.md"), "utf8");
    const out: string[] = [];
    for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
        for (const line of block[1]!.split("\n")) {
            if (!line.trim()) continue;
            const code = line.replace(/\s+#\s.*$/, "");
            if (/^\s/.test(line) && out.length) out[out.length - 1] += ` ${code.trim()}`;
            else out.push(code.trim());
        }
    }
    return out;
}

/** Each autoglm invocation in a command line: the command's name and the flags written after it. */
function invocations(line: string): { command: string; flags: string[] }[] {
    const unquoted = line.replace(/'[^']*'|"[^"]*"/g, "STR");
    // A pipe into another program splits; "[--think | --no-think]" is one synopsis.
    return unquoted
        .split(/\|(?=\s+[^\s-])|&&/)
        .map((s) => s.trim())
        .map((s) => /^(?:npx\s+)?(?:\.\/bin\/autoglm\.js|autoglm)\s+(\S+)(.*)$/.exec(s))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ command: m[1]!, flags: [...m[2]!.matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)].map((f) => f[1]!) }));
}

function flagsOf(cmd: Command): Set<string> {
    const names = (cmd.options as Option[]).flatMap((o) => [o.short, o.long]).filter((f): f is string => Boolean(f));
    return new Set([...names, ...aliasesFor(cmd.name()).map(([a]) => a), "-h", "--help"]);
}

const commands = readmeCommands();
const isSynopsis = (c: string) => /[[<]|\.\.\.|\w\|\w/.test(c.replace(/'[^']*'|"[^"]*"/g, ""));

describe("README commands", () => {
    it("the README has commands to check", () => {
        expect(commands.filter((c) => invocations(c).length > 0).length).toBeGreaterThan(10);
    });

    it("every autoglm invocation names a command and flags the CLI has", () => {
        const program = buildProgram();
        const problems: string[] = [];
        for (const c of commands) {
            for (const inv of invocations(c)) {
                if (inv.command.startsWith("-")) {
                    if (!["--help", "-h", "--version", "-V", "--list-devices"].includes(inv.command)) problems.push(`${c}: ${inv.command}`);
                    continue;
                }
                const cmd = program.commands.find((x) => x.name() === inv.command || x.aliases().includes(inv.command));
                if (!cmd) {
                    problems.push(`${c}: no command ${inv.command}`);
                    continue;
                }
                const known = flagsOf(cmd);
                for (const f of inv.flags) if (!known.has(f)) problems.push(`${c}: ${inv.command} has no ${f}`);
            }
        }
        expect(problems).toEqual([]);
    });

    describe("the concrete commands run as written", () => {
        const concrete = commands.filter((c) => !isSynopsis(c) && (invocations(c).length > 0 || /^npm /.test(c) || /^printf /.test(c)));
        const demoDir = tempDir("readme");
        // `autoglm pull zai-org/AutoGLM-Phone-9B` runs against a local stand-in of the Hub serving a
        // tiny checkpoint of that name, into a models folder and Hugging Face cache of the test's own.
        let hub: HubStandIn | undefined;
        const hubEnv: NodeJS.ProcessEnv = {};
        beforeAll(async () => {
            await defaultModel();
            const checkpoint = join(demoDir, "hub", "AutoGLM-Phone-9B");
            await generateCheckpoint(checkpoint, { arch: "glm4v", shape: "tiny", seed: 0 });
            hub = await new HubStandIn().start();
            hub.add(repoFromFolder("zai-org/AutoGLM-Phone-9B", checkpoint));
            Object.assign(hubEnv, {
                HF_ENDPOINT: hub.url,
                HF_HUB_CACHE: join(demoDir, "hf-cache"),
                HF_TOKEN: "",
                HF_TOKEN_PATH: join(demoDir, "no-token"),
                HF_HUB_OFFLINE: "",
                AUTOGLM_MODELS: join(demoDir, "models"),
            });
        }, 300_000);
        afterAll(async () => {
            await hub?.close();
        });
        for (const c of concrete) {
            const skip = SKIP.find(([re]) => re.test(c));
            it.skipIf(skip !== undefined)(
                `${c}${skip ? ` (skipped: ${skip[1]})` : ""}`,
                async () => {
                    // `autoglm` is the CLI on PATH after npm link; here it is this checkout's. Run without
                    // blocking: the Hub stand-in answers from this process.
                    const shim = `autoglm() { "${process.execPath}" "${BIN}" "$@"; }; export -f autoglm 2>/dev/null;`;
                    const { stdout: out } = await execFileAsync("bash", ["-c", `${shim} set -o pipefail; ${c}`], {
                        cwd: ROOT,
                        encoding: "utf8",
                        env: { ...process.env, AUTOGLM_DEMO_DIR: demoDir, ...hubEnv },
                        timeout: 600_000,
                    });
                    expect(out.length).toBeGreaterThan(0);
                },
                900_000,
            );
        }
        it("npm run demo (the quick start's second half) runs", () => {
            const out = execFileSync("npm", ["run", "demo"], {
                cwd: ROOT,
                encoding: "utf8",
                env: { ...process.env, AUTOGLM_DEMO_DIR: demoDir },
                timeout: 600_000,
            });
            expect(out).toMatch(/random-weight demo model/);
        }, 900_000);
    });
});
