// `autoglm devices` (also `--list-devices`): the node-llama-cpp backends this machine can load,
// their devices and memory, and the one `--gpu auto` picks. Nothing is built or downloaded.

import { cpus, freemem, totalmem } from "node:os";
import { Command } from "commander";
import type { LlamaGpuType } from "node-llama-cpp";
import { BACKEND_NEEDS, openBackend } from "../../engine/model.js";
import { fitTable, formatBytes, wrap } from "../format.js";

interface BackendReport {
    backend: string;
    loads: boolean;
    devices: string[];
    vram?: { total: number; used: number; free: number };
    error?: string;
}

/** Tries one backend's prebuilt binary (build: "never"), and what it sees. */
async function probe(gpu: LlamaGpuType): Promise<BackendReport> {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    const backend = gpu === false ? "cpu" : gpu;
    try {
        const llama = await getLlama({ gpu, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error });
        if (gpu !== false && llama.gpu !== gpu)
            return { backend, loads: false, devices: [], error: `node-llama-cpp gave ${llama.gpu || "cpu"} instead` };
        if (gpu === false)
            return {
                backend,
                loads: true,
                devices: [`${cpus()[0]?.model?.trim() ?? "CPU"} (${cpus().length} cores)`],
                vram: { total: totalmem(), used: totalmem() - freemem(), free: freemem() },
            };
        const devices = await llama.getGpuDeviceNames().catch(() => [] as string[]);
        const v = await llama.getVramState();
        const error = devices.length
            ? undefined
            : `loads, but sees no device, so layers stay on the CPU; it needs ${BACKEND_NEEDS[backend as keyof typeof BACKEND_NEEDS]}`;
        return { backend, loads: true, devices, vram: { total: v.total, used: v.used, free: v.free }, error };
    } catch (e) {
        const why = String((e as Error).message ?? e).split("\n")[0];
        return {
            backend,
            loads: false,
            devices: [],
            error: `no usable prebuilt binary here (${why}); it needs ${BACKEND_NEEDS[backend as keyof typeof BACKEND_NEEDS] ?? "?"}`,
        };
    }
}

export function devicesCommand(): Command {
    return new Command("devices")
        .description("list the compute backends node-llama-cpp can load here, their devices and memory, and what --gpu auto picks")
        .option("--json", "print the list as JSON")
        .action(async (opts: { json?: boolean }) => {
            const { getLlamaGpuTypes } = await import("node-llama-cpp");
            const candidates = [...new Set<LlamaGpuType>([...(await getLlamaGpuTypes("allValid")).filter((g) => g !== false), false])];
            const reports: BackendReport[] = [];
            for (const gpu of candidates) reports.push(await probe(gpu));
            let auto: string;
            try {
                auto = (await openBackend("auto")).gpu || "cpu";
            } catch {
                auto = "cpu";
            }
            if (opts.json) {
                process.stdout.write(`${JSON.stringify({ backends: reports, auto }, null, 2)}\n`);
                return;
            }
            const rows = reports.map((r) => [
                r.backend,
                r.loads ? "yes" : "no",
                r.devices.join(", ") || "-",
                r.vram ? `${formatBytes(r.vram.free)} free of ${formatBytes(r.vram.total)}` : "-",
            ]);
            // Within the terminal's width (80 columns into a pipe): the notes go under the table, wrapped.
            const width = Math.max(60, process.stdout.isTTY ? (process.stdout.columns ?? 80) : 80);
            process.stdout.write(`${fitTable(["backend", "loads", "devices", memoryTitle(reports)], rows, width, 2)}\n`);
            for (const r of reports) if (r.error) process.stdout.write(`${wrap(`${r.backend}: ${r.error}`, width, 2)}\n`);
            const idle = reports.filter((r) => r.backend !== "cpu" && r.loads && r.devices.length === 0).map((r) => r.backend);
            process.stdout.write(
                `--gpu auto uses: ${auto}${auto === "cpu" && idle.length ? ` (${idle.join(", ")} loads but sees no device)` : ""}\n`,
            );
        });
}

/** The memory column's title: VRAM for GPUs, RAM for the CPU row. */
function memoryTitle(reports: BackendReport[]): string {
    return reports.some((r) => r.backend !== "cpu" && r.loads) ? "memory (VRAM; RAM for cpu)" : "memory (RAM for cpu)";
}
