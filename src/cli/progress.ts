// A byte progress bar (done / total, rate, ETA) on a terminal; silent when stderr is not a TTY.

import cliProgress from "cli-progress";
import { formatBytes } from "./format.js";

export class ByteProgress {
    private bar?: cliProgress.SingleBar;
    private readonly start = Date.now();

    constructor(
        private readonly label: string,
        private readonly enabled = Boolean(process.stderr.isTTY),
    ) {}

    private startBar(total: number): void {
        this.bar = new cliProgress.SingleBar(
            {
                stream: process.stderr,
                format: `${this.label} {bar} {percentage}% | {doneText} / {totalText} | {rateText} | ETA {eta_formatted}`,
                hideCursor: true,
                clearOnComplete: true,
                etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
        );
        this.bar.start(total, 0, { doneText: formatBytes(0), totalText: formatBytes(total), rateText: "-" });
    }

    update(done: number, total: number): void {
        if (!this.enabled) return;
        if (!this.bar) this.startBar(total);
        if (!this.bar) return;
        const seconds = (Date.now() - this.start) / 1000;
        this.bar.update(done, { doneText: formatBytes(done), rateText: seconds > 0 ? `${formatBytes(done / seconds)}/s` : "-" });
    }

    stop(): void {
        this.bar?.stop();
        this.bar = undefined;
    }
}

/**
 * What a long command is doing, on stderr: on a terminal one line rewritten in place (cleared by
 * `done`); otherwise a line per change, so logs show the phases in order.
 */
export class PhaseLine {
    private shown = false;

    constructor(private readonly tty = Boolean(process.stderr.isTTY)) {}

    update(text: string): void {
        if (this.tty) {
            process.stderr.write(`\r\x1b[K${text}`);
            this.shown = true;
        } else {
            process.stderr.write(`${text}\n`);
        }
    }

    done(): void {
        if (this.shown) process.stderr.write("\r\x1b[K");
        this.shown = false;
    }
}
