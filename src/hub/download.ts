// One file from the Hub into the cache: appended to blobs/<etag>.incomplete from where an earlier
// try stopped (a Range request), hashed as it arrives (sha256 for LFS files, git's blob id for the
// others) and renamed to blobs/<etag> only when its size and checksum match what the Hub listed.
// A dropped connection is retried from the bytes already kept; a checksum mismatch removes the
// download and is one line.

import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, truncate } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../core/errors.js";
import type { RepoCache } from "./cache.js";
import { RangeIgnoredError, type HubClient, type RemoteFile } from "./client.js";

const ATTEMPTS = 5;

function hasher(file: RemoteFile): Hash {
    const h = createHash(file.lfs ? "sha256" : "sha1");
    if (!file.lfs) h.update(`blob ${file.size}\0`);
    return h;
}

async function hashFile(h: Hash, path: string): Promise<void> {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener(
            "abort",
            () => {
                clearTimeout(timer);
                reject(signal.reason);
            },
            { once: true },
        );
    });
}

export interface DownloadEvents {
    /** Bytes that reached the disk (or were found there already). */
    onBytes?: (n: number) => void;
    /** A try that failed and is retried from `kept` bytes. */
    onRetry?: (why: string, kept: number) => void;
}

/** Downloads (or finds) the file in the cache and returns its snapshot path. */
export async function downloadFile(
    client: HubClient,
    cache: RepoCache,
    commit: string,
    file: RemoteFile,
    events: DownloadEvents = {},
    signal?: AbortSignal,
): Promise<string> {
    if (cache.has(commit, file.path, file.size)) {
        events.onBytes?.(file.size);
        return cache.snapshotFile(commit, file.path);
    }
    if (cache.hasBlob(file.etag, file.size)) {
        events.onBytes?.(file.size);
        return cache.link(commit, file.path, file.etag);
    }
    const blob = cache.blob(file.etag);
    const partial = cache.incomplete(file.etag);
    await mkdir(dirname(blob), { recursive: true });
    let kept = cache.partialBytes(file.etag);
    if (kept > file.size) {
        await truncate(partial, 0);
        kept = 0;
    }
    const hash = hasher(file);
    if (kept > 0) await hashFile(hash, partial);
    events.onBytes?.(kept);
    let digest: string | undefined;
    for (let attempt = 1; ; attempt++) {
        const out = await open(partial, "a");
        const before = kept;
        try {
            if (kept < file.size || file.size === 0) {
                const stream = await client.open(cache.repo, commit, file.path, kept);
                const reader = stream.getReader();
                const stop = () => void reader.cancel().catch(() => {});
                signal?.addEventListener("abort", stop, { once: true });
                // A connection that stays open and sends nothing is given up on (and resumed), as huggingface_hub's read timeout does.
                let stalled = false;
                let watchdog: NodeJS.Timeout | undefined;
                const watch = () => {
                    clearTimeout(watchdog);
                    watchdog = setTimeout(() => {
                        stalled = true;
                        stop();
                    }, client.settings.stallSeconds * 1000);
                };
                try {
                    for (;;) {
                        watch();
                        const { done, value } = await reader.read();
                        if (stalled) throw new Error(`no data for ${client.settings.stallSeconds} s`);
                        if (done) break;
                        if (kept + value.length > file.size)
                            throw new UserError(`${file.path}: the Hub sent more than the ${file.size} bytes it listed`);
                        await out.write(value);
                        hash.update(value);
                        kept += value.length;
                        events.onBytes?.(value.length);
                    }
                } finally {
                    clearTimeout(watchdog);
                    signal?.removeEventListener("abort", stop);
                }
            }
            signal?.throwIfAborted();
            if (kept !== file.size) throw new Error(`the connection ended after ${kept} of ${file.size} bytes`);
            digest = hash.digest("hex");
            break;
        } catch (e) {
            if (signal?.aborted) throw signal.reason;
            if (e instanceof UserError) throw e;
            const why = typeof e === "string" ? e : ((e as Error).message ?? String(e));
            if (e instanceof RangeIgnoredError) {
                await out.close();
                await truncate(partial, 0);
                events.onBytes?.(-kept);
                kept = 0;
                return downloadFile(client, cache, commit, file, events, signal);
            }
            // A try that made no progress counts; one that did earns a fresh start of the count.
            if (attempt >= ATTEMPTS && kept === before)
                throw new UserError(
                    `the download of ${file.path} stopped (${why}); ${kept} of ${file.size} bytes are kept: run the same command again to resume`,
                );
            if (kept > before) attempt = 0;
            else await pause(250 * 2 ** attempt, signal); // the same failure again: give the network a moment
            events.onRetry?.(why, kept);
        } finally {
            await out.close().catch(() => {});
        }
    }
    if (digest !== file.etag) {
        await rm(partial, { force: true });
        throw new UserError(
            `${file.path} from ${cache.repo} is corrupt: its ${file.lfs ? "sha256" : "git blob id"} is ${digest}, the Hub lists ${file.etag}; the download was removed: run the same command again`,
        );
    }
    await rename(partial, blob);
    return cache.link(commit, file.path, file.etag);
}
