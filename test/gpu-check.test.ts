// scripts/gpu-check.sh, the run prepared for an NVIDIA machine, in its dry run: the same steps on the
// CPU at the tiny shape, with a stand-in nvidia-smi (test/helpers/fake-nvidia-smi) that reports 300 W,
// so the sampling, the step windows and the joules-per-token arithmetic run too. Only the GPU itself
// is missing: when a GPU machine is lent, the script runs there unchanged.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";
import { tempDir } from "./helpers/tmp.js";

const SCRIPT = join(ROOT, "scripts/gpu-check.sh");
const hasNvidiaSmi = spawnSync("sh", ["-c", "command -v nvidia-smi"]).status === 0;

/** The rows of the first markdown table from `heading` on (a title, or the table's own header), as arrays of cells. */
function table(md: string, heading: string): string[][] {
    const from = md.indexOf(heading);
    expect(from, heading).toBeGreaterThanOrEqual(0);
    const lines = md.slice(from).split("\n");
    const start = lines.findIndex((l) => l.startsWith("|"));
    const rows: string[][] = [];
    for (const l of lines.slice(start + 2)) {
        if (!l.startsWith("|")) break;
        rows.push(
            l
                .split("|")
                .slice(1, -1)
                .map((c) => c.trim()),
        );
    }
    return rows;
}

const num = (cell: string) => Number.parseFloat(cell);
/** a equals b to the rounding of the printed figures (2 %). */
const near = (a: number, b: number) => expect(Math.abs(a - b) / Math.abs(b), `${a} vs ${b}`).toBeLessThan(0.02);

describe("scripts/gpu-check.sh", () => {
    it("--dry-run runs every step on the CPU and writes one results file with every section", { timeout: 900_000 }, () => {
        const dir = tempDir("gpu-check");
        const r = spawnSync("bash", [SCRIPT, "--dry-run", "--out", join(dir, "out"), "--work", join(dir, "work"), "--budget", "840"], {
            cwd: ROOT,
            encoding: "utf8",
            env: { ...process.env, PATH: `${join(ROOT, "test/helpers/fake-nvidia-smi")}:${process.env.PATH}` },
            timeout: 880_000,
        });
        expect(r.status, r.stderr.slice(-3000)).toBe(0);
        const md = readFileSync(join(dir, "out/gpu-check.md"), "utf8");
        expect(md).toMatch(/^# GPU check \(dry run on the CPU/);
        expect(md).toContain("GPU: autoglm test stand-in (not a GPU)");

        const steps = Object.fromEntries(table(md, "| step |").map(([name, result]) => [name, result]));
        for (const name of [
            "synthesize",
            "build-native",
            "build-tools",
            "convert-q4_0",
            "convert-q4_k_m",
            "bench-q4_0",
            "bench-q4_k_m",
            "energy-autoglm",
            "energy-llama-bench",
            "phone-step",
            "agent-step",
        ]) {
            expect(steps[name], name).toBe("ok");
        }

        const converted = table(md, "## Conversion");
        expect(converted.map((row) => row[0])).toEqual(["q4_0", "q4_k_m"]);
        for (const row of converted) {
            expect(num(row[1])).toBeGreaterThan(0);
            expect(row[3]).toMatch(/^text \S+ \S?i?B, vision \S+ \S?i?B$/);
        }

        const bench = table(md, "## autoglm bench against llama-bench");
        expect(bench.map((row) => row[0])).toEqual(["q4_0", "q4_k_m"]);
        for (const row of bench) {
            // autoglm / llama-bench, as printed beside the two speeds.
            near(num(row[3]), num(row[1]) / num(row[2]));
            near(num(row[6]), num(row[4]) / num(row[5]));
        }

        const agent = table(md, "## Agent step (scripts/bench-agent-step.mjs)");
        expect(agent.map((row) => row[0])).toEqual(["step 1 (system prompt + screenshot)", "step 2 (history cached + new screenshot)"]);
        for (const row of agent) near(num(row[4]), num(row[1]) / num(row[3])); // in process / llama-server, as printed
        const phone = table(md, "## Phone-agent step (`autoglm bench --image`");
        expect(phone.map((row) => row[0])).toContain("vision encode");
        expect(num(phone.find((row) => row[0] === "vision encode")![2])).toBeGreaterThan(0); // llama-mtmd-cli's
        const servers = table(md, "## Phone-agent step through the servers");
        expect(servers).toHaveLength(2);
        for (const row of servers) near(num(row[3]), num(row[1]) / num(row[2]));

        // The stand-in draws 300 W: joules per token is 300 over tokens per second.
        const energy = table(md, "## Energy");
        expect(energy.map((row) => row[0])).toEqual(["autoglm bench", "llama-bench"]);
        for (const row of energy) {
            expect(row[2]).toBe("300.0 W");
            near(num(row[3]), 300 / num(row[1]));
            expect(num(row[4])).toBeGreaterThan(0); // the stand-in's memory grows by a MiB a sample
        }
    });

    it.skipIf(hasNvidiaSmi)("without --dry-run on a machine with no NVIDIA driver, says what is missing and exits 1", () => {
        const dir = tempDir("gpu-check-refused");
        const r = spawnSync("bash", [SCRIPT, "--out", dir, "--work", dir], { cwd: ROOT, encoding: "utf8" });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/^gpu-check: cannot run here, missing: nvidia-smi \(the NVIDIA driver\)$/m);
    });
});
