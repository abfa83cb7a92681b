// What a pull shows while it works. On a terminal: one bar for the download (all files together:
// bytes, rate since this run began, ETA; a resumed download starts where it stopped) and one for the
// conversion. Into a pipe or a log: plain lines, one per file started and one per tenth of the
// download, so a log says what happened and when, without bars.

import cliProgress from "cli-progress";
import { formatBytes } from "../format.js";
import { ByteProgress } from "../progress.js";
import type { RemoteFile } from "../../hub/client.js";
import type { PullEvents } from "./pull.js";

export function pullProgress(tty = Boolean(process.stderr.isTTY)): PullEvents & { stop(): void } {
    const write = (line: string) => process.stderr.write(`${line}\n`);
    let bar: cliProgress.SingleBar | undefined;
    let convert: ByteProgress | undefined;
    let startedAt = 0;
    let startedWith = 0;
    let lastTenth = -1;
    let current = "";
    const stopBars = () => {
        bar?.stop();
        bar = undefined;
        convert?.stop();
        convert = undefined;
    };
    return {
        line(text) {
            stopBars();
            write(text);
        },
        pauseBars: stopBars,
        downloadFile(file: RemoteFile, index: number, count: number, resumedAt: number) {
            current = file.path;
            if (tty) return;
            write(
                resumedAt > 0
                    ? `resuming ${file.path} (${index + 1}/${count}) at ${formatBytes(resumedAt)} of ${formatBytes(file.size)}`
                    : `downloading ${file.path} (${index + 1}/${count}, ${formatBytes(file.size)})`,
            );
        },
        downloadBytes(done, total) {
            if (!startedAt) {
                startedAt = Date.now();
                startedWith = done;
            }
            if (!tty) {
                const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
                if (tenth > lastTenth && done > 0) {
                    lastTenth = tenth;
                    if (tenth < 10) write(`downloaded ${formatBytes(done)} of ${formatBytes(total)} (${tenth * 10}%)`);
                }
                return;
            }
            if (!bar) {
                bar = new cliProgress.SingleBar(
                    {
                        stream: process.stderr,
                        format: "download {bar} {percentage}% | {doneText} / {totalText} | {rateText} | ETA {eta_formatted} | {file}",
                        hideCursor: true,
                        clearOnComplete: true,
                        etaBuffer: 50,
                    },
                    cliProgress.Presets.shades_classic,
                );
                bar.start(total, done, { doneText: formatBytes(done), totalText: formatBytes(total), rateText: "-", file: current });
            }
            const seconds = (Date.now() - startedAt) / 1000;
            const rate = seconds > 0.5 ? `${formatBytes((done - startedWith) / seconds)}/s` : "-";
            bar.update(done, { doneText: formatBytes(done), rateText: rate, file: current });
        },
        convertBytes(done, total) {
            if (!tty) return;
            bar?.stop();
            bar = undefined;
            convert ??= new ByteProgress("convert", true);
            convert.update(done, total);
        },
        stop: stopBars,
    };
}
