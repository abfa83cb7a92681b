// `autoglm pull` as a library call: list the repository (or, with HF_HUB_OFFLINE, read what the
// Hugging Face cache holds), plan the files, check the free space, download them into the cache
// (resumed, verified), then convert the checkpoint (or take the GGUF files) into a hidden staging
// folder beside the model's place in the models folder, write the record there, and rename the
// folder into place: a pull that stops at any point leaves no folder that looks finished, and the
// next run resumes the downloads.

import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { copyFile, link, mkdir, open, readFile, rename, rm, rmdir, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "../../core/errors.js";
import { typeFromName } from "../../core/gguf/constants.js";
import { CONVERTERS } from "../../../convert/arch/index.js";
import { convertModel } from "../../../convert/convert-model.js";
import { RepoCache } from "../../hub/cache.js";
import { HubClient, type RemoteFile, type RepoListing } from "../../hub/client.js";
import { downloadFile } from "../../hub/download.js";
import type { RepoRef } from "../../hub/repo-ref.js";
import { hubSettings, type HubSettings } from "../../hub/settings.js";
import { RECORD, variantDir, type PullRecord } from "../pulled-models.js";
import { checkFreeSpace, convertedBytesEstimate } from "./disk.js";
import { planPull, type PullPlan } from "./plan.js";

export interface PullOptions {
    ref: RepoRef;
    modelsFolder: string;
    outtype?: string;
    mmprojOuttype: string;
    force?: boolean;
    /** Keep the downloaded files in the Hugging Face cache after the conversion (default: removed). */
    keepDownload?: boolean;
    threads?: number;
}

export interface PullEvents {
    line(text: string): void;
    /** Download progress over all files of the pull: bytes on disk of the total. */
    downloadBytes(done: number, total: number): void;
    /** A file starts (after the ones already complete). */
    downloadFile(file: RemoteFile, index: number, count: number, resumedAt: number): void;
    convertBytes(done: number, total: number): void;
    /** Before a line is written over a progress bar. */
    pauseBars(): void;
}

export interface PullResult {
    name: string;
    dir: string;
    record: PullRecord;
    /** Already there: nothing was done. */
    existed: boolean;
    downloadedBytes: number;
}

/** The cache's snapshot as a listing, for HF_HUB_OFFLINE: what an earlier download (ours or Python's) left. */
function offlineListing(s: HubSettings, repo: string): RepoListing {
    const cache = new RepoCache(s.cacheDir, repo);
    const commit = cache.ref("main");
    if (!commit)
        throw new UserError(`HF_HUB_OFFLINE is set and ${repo} is not in the Hugging Face cache (${s.cacheDir}): pull it once online`);
    const files = cache.snapshotFiles(commit).map((path) => {
        const at = cache.snapshotFile(commit, path);
        const etag = basename(readlinkSync(at));
        return { path, size: statSync(at).size, etag, lfs: /^[0-9a-f]{64}$/.test(etag) };
    });
    return { repo, commit, files };
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** One pull of a repository at a time (two would append to the same downloads): a lock file holding the pid. */
async function lock(dir: string, repo: string): Promise<() => Promise<void>> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, ".pull.lock");
    for (let tries = 0; ; tries++) {
        try {
            const fh = await open(path, "wx");
            await fh.writeFile(String(process.pid));
            await fh.close();
            return () => rm(path, { force: true });
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST" || tries > 0) throw e;
            const pid = Number(readFileSync(path, "utf8").trim());
            if (pid && pid !== process.pid && pidAlive(pid)) throw new UserError(`another autoglm pull of ${repo} is running (pid ${pid})`);
            await rm(path, { force: true }); // left by a pull that was killed
        }
    }
}

/** Staging folders of pulls that were killed (their pid is gone). */
async function removeStaleStaging(repoDir: string): Promise<void> {
    if (!existsSync(repoDir)) return;
    for (const name of readdirSync(repoDir)) {
        const m = /^\..+\.(partial|old)-(\d+)$/.exec(name);
        if (m && !pidAlive(Number(m[2]))) await rm(join(repoDir, name), { recursive: true, force: true });
    }
}

/** Checks config.json names an architecture autoglm converts, before the weights are downloaded. */
async function checkArchitecture(configPath: string, repo: string): Promise<void> {
    let arch: unknown;
    try {
        arch = JSON.parse(await readFile(configPath, "utf8")).architectures?.[0];
    } catch (e) {
        throw new UserError(`${repo}'s config.json is not JSON: ${(e as Error).message}`);
    }
    const known = CONVERTERS.flatMap((c) => c.architectures);
    if (typeof arch !== "string" || !known.includes(arch))
        throw new UserError(
            `${repo} is a ${String(arch ?? "model without an architecture")} checkpoint; autoglm converts ${known.join(", ")}`,
        );
}

/** Moves (a download no longer needed in the cache) or hard-links / copies a file into the staging folder. */
async function adopt(from: string, to: string, move: boolean): Promise<void> {
    const real = resolve(dirname(from), readlinkSync(from));
    try {
        if (move) await rename(real, to);
        else await link(real, to);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EXDEV" && code !== "EPERM" && code !== "ENOTSUP") throw e;
        await copyFile(real, to);
        if (move) await rm(real, { force: true });
    }
    if (move) await rm(from, { force: true });
}

export async function pull(o: PullOptions, events: PullEvents, signal?: AbortSignal): Promise<PullResult> {
    const settings = hubSettings();
    const client = new HubClient(settings, signal);
    const listing = settings.offline ? offlineListing(settings, o.ref.repo) : await client.listing(o.ref.repo);
    const repo = listing.repo;
    let plan: PullPlan;
    try {
        plan = planPull(listing, o.ref.quant, o.outtype);
    } catch (e) {
        if (!settings.offline || !(e instanceof UserError)) throw e;
        throw new UserError(`HF_HUB_OFFLINE is set and the Hugging Face cache holds only part of ${repo} (${e.message}): pull it online`);
    }
    const dir = variantDir(o.modelsFolder, repo, plan.quant);
    const name = `${repo}:${plan.quant}`;
    const existing = join(dir, RECORD);
    if (existsSync(existing) && !o.force) {
        const record = JSON.parse(readFileSync(existing, "utf8")) as PullRecord;
        return { name, dir, record, existed: true, downloadedBytes: 0 };
    }
    const repoDir = dirname(dir);
    const cache = new RepoCache(settings.cacheDir, repo);
    const missing = plan.files.filter((f) => !cache.has(listing.commit, f.path, f.size) && !cache.hasBlob(f.etag, f.size));
    const toDownload = missing.reduce((n, f) => n + f.size - cache.partialBytes(f.etag), 0);
    const weights = plan.files.reduce((n, f) => n + f.size, 0);
    await checkFreeSpace([
        { dir: settings.cacheDir, bytes: toDownload, what: `the download (${missing.length} file(s))` },
        {
            dir: o.modelsFolder,
            bytes: plan.kind === "checkpoint" ? convertedBytesEstimate(weights, plan.outtype) : weights,
            what: plan.kind === "checkpoint" ? `the converted ${plan.quant} model (estimated)` : "the GGUF files",
        },
    ]);
    const unlock = await lock(repoDir, repo);
    const staging = join(repoDir, `.${plan.quant}.partial-${process.pid}`);
    const downloaded = new Set<string>();
    try {
        await removeStaleStaging(repoDir);
        // Small files first: config.json says whether the checkpoint converts before gigabytes arrive.
        const order = [...plan.files].sort((a, b) => a.size - b.size);
        const total = order.reduce((n, f) => n + f.size, 0);
        let done = 0;
        events.downloadBytes(0, total);
        for (const [i, f] of order.entries()) {
            // Only what this pull downloads is removed after it: a blob already there may be another snapshot's.
            const fresh = !cache.has(listing.commit, f.path, f.size) && !cache.hasBlob(f.etag, f.size);
            if (fresh) events.downloadFile(f, i, order.length, cache.partialBytes(f.etag));
            await downloadFile(
                client,
                cache,
                listing.commit,
                f,
                {
                    onBytes: (n) => {
                        done += n;
                        events.downloadBytes(done, total);
                    },
                    onRetry: (why, kept) => {
                        events.pauseBars();
                        events.line(`${f.path}: ${why}; resuming from byte ${kept}`);
                    },
                },
                signal,
            );
            if (fresh) downloaded.add(f.path);
            if (f.path === "config.json" && plan.kind === "checkpoint")
                await checkArchitecture(cache.snapshotFile(listing.commit, f.path), repo);
        }
        if (!settings.offline) await cache.setRef("main", listing.commit);
        events.pauseBars();

        await rm(staging, { recursive: true, force: true });
        await mkdir(staging, { recursive: true });
        const record: PullRecord = {
            repo,
            commit: listing.commit,
            endpoint: settings.endpoint,
            quant: plan.quant,
            source: plan.kind,
            model: "",
            pulledAt: new Date().toISOString(),
        };
        const move = !o.keepDownload;
        if (plan.kind === "checkpoint") {
            // The converter names its files after the checkpoint's folder: a link named after the repository.
            const checkpoint = join(staging, ".checkpoint", repo.split("/")[1]!);
            await mkdir(dirname(checkpoint), { recursive: true });
            await symlink(resolve(cache.snapshotFile(listing.commit, "config.json"), ".."), checkpoint);
            events.line(`converting to ${plan.quant} (text) and ${o.mmprojOuttype.toUpperCase()} (encoder)...`);
            const result = await convertModel({
                dir: checkpoint,
                outDir: staging,
                force: true,
                threads: o.threads,
                signal,
                types: { text: plan.outtype, mmproj: typeFromName(o.mmprojOuttype)! },
                onBytes: (d, t) => events.convertBytes(d, t),
                onWarning: (message) => {
                    events.pauseBars();
                    events.line(`warning: ${message}`);
                },
            });
            events.pauseBars();
            await rm(join(staging, ".checkpoint"), { recursive: true, force: true });
            record.model = basename(result.files.find((f) => f.role === "text")!.path);
            const enc = result.files.find((f) => f.role !== "text");
            if (enc) record.mmproj = basename(enc.path);
        } else {
            for (const f of plan.files) {
                await adopt(cache.snapshotFile(listing.commit, f.path), join(staging, basename(f.path)), move && downloaded.has(f.path));
            }
            record.model = basename(plan.model[0]!.path);
            if (plan.model.length > 1) record.parts = plan.model.slice(1).map((f) => basename(f.path));
            if (plan.mmproj) record.mmproj = basename(plan.mmproj.path);
        }
        await writeFile(join(staging, RECORD), `${JSON.stringify(record, null, 2)}\n`);
        signal?.throwIfAborted();
        // Into place in one rename; a --force pull first moves the old folder aside.
        const old = join(repoDir, `.${plan.quant}.old-${process.pid}`);
        if (existsSync(dir)) await rename(dir, old);
        await rename(staging, dir);
        await rm(old, { recursive: true, force: true });
        if (move && plan.kind === "checkpoint") {
            for (const path of downloaded) await cache.forget(listing.commit, path);
            await cache.removeIfEmpty();
        } else if (move) await cache.removeIfEmpty();
        return {
            name,
            dir,
            record,
            existed: false,
            downloadedBytes: [...downloaded].reduce((n, p) => n + plan.files.find((f) => f.path === p)!.size, 0),
        };
    } finally {
        await rm(staging, { recursive: true, force: true });
        await unlock();
        // A pull that failed before its first model leaves no empty folders behind.
        for (const d of [repoDir, dirname(repoDir)]) await rmdir(d).catch(() => {});
    }
}
