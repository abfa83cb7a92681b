// --record DIR: every step's screenshot with its gesture drawn on it, a JSON file with the raw
// output, the parsed action, the outcome and the timings, and at the end index.html to replay the
// run. One folder per phone. Files are written as steps end (in order, one at a time), so a run that
// is stopped keeps what it did; the page is written when the run ends, however it ends.

import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { describeAction } from "./action.js";
import type { StepReport, TaskResult } from "./agent.js";
import { annotate, thumbnail } from "./annotate.js";
import { resultLine, stepJson } from "./output.js";
import { type PageDevice, type PageStep, recordPage } from "./record-page.js";

/** A serial as a folder name (adb serials can be host:port). */
export function serialFolder(serial: string): string {
    return serial.replace(/[^A-Za-z0-9._-]/g, "_") || "device";
}

export class RunRecord {
    private queue: Promise<void> = Promise.resolve();
    private failure: Error | undefined;
    private readonly devices = new Map<string, PageDevice>();
    private readonly started = new Date().toISOString();

    private constructor(
        readonly dir: string,
        private readonly task: string,
    ) {}

    /** Checks DIR for a run (made when the first file is written): it must not exist yet or be empty, since a record never mixes two runs. */
    static async create(dir: string, task: string): Promise<RunRecord> {
        let entries: string[] = [];
        try {
            entries = await readdir(dir);
        } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === "ENOTDIR") throw new UserError(`--record ${dir}: not a folder`);
            if (code !== "ENOENT") throw e;
        }
        if (entries.length) throw new UserError(`--record ${dir}: the folder is not empty (a record holds one run)`);
        return new RunRecord(dir, task);
    }

    private device(serial: string): PageDevice {
        let d = this.devices.get(serial);
        if (!d) {
            d = { serial, result: "running", steps: [] };
            this.devices.set(serial, d);
        }
        return d;
    }

    /** Records a step (queued behind the ones before it). */
    step(report: StepReport): void {
        this.device(report.serial);
        this.queue = this.queue.then(() => this.write(report)).catch((e) => this.failed(e));
    }

    private async write(r: StepReport): Promise<void> {
        const folder = serialFolder(r.serial);
        await mkdir(join(this.dir, folder), { recursive: true });
        const name = `step-${String(r.step).padStart(3, "0")}${r.action ? "" : `-unreadable-${r.attempt}`}`;
        const png = await annotate(r.screenshot.png, r.screenshot.width, r.screenshot.height, r.outcome?.gesture);
        await writeFile(join(this.dir, folder, `${name}.png`), png);
        await writeFile(join(this.dir, folder, `${name}.json`), `${JSON.stringify(stepJson(r), null, 2)}\n`);
        const t = stepJson(r).timings_ms;
        const page: PageStep = {
            step: r.step,
            attempt: r.attempt,
            app: r.app,
            action: r.action ? describeAction(r.action) : `unreadable answer: ${r.parseError}`,
            thinking: r.thinking,
            answer: r.answer,
            raw: r.raw,
            note: r.action ? (r.outcome?.message ?? (r.outcome?.ok === false ? "failed" : "ok")) : "unreadable answer",
            timings: `screenshot ${t.screenshot} ms, encode ${t.encode} ms, prefill ${t.prefill} ms, decode ${t.decode} ms, action ${t.action} ms`,
            image: `data:image/jpeg;base64,${(await thumbnail(png)).toString("base64")}`,
            file: `${folder}/${name}.png`,
        };
        this.device(r.serial).steps.push(page);
    }

    private failed(e: unknown) {
        this.failure ??= e as Error;
    }

    /** Writes each device's result and index.html; throws the first failure to write anything. */
    async close(results: TaskResult[]): Promise<void> {
        await this.queue;
        await mkdir(this.dir, { recursive: true });
        for (const r of results) {
            this.device(r.serial).result = resultLine(r, false);
            await mkdir(join(this.dir, serialFolder(r.serial)), { recursive: true });
            await writeFile(join(this.dir, serialFolder(r.serial), "result.json"), `${JSON.stringify(r, null, 2)}\n`).catch((e) =>
                this.failed(e),
            );
        }
        await writeFile(
            join(this.dir, "index.html"),
            recordPage({ task: this.task, started: this.started, devices: [...this.devices.values()] }),
        ).catch((e) => this.failed(e));
        if (this.failure) throw this.failure;
    }
}
