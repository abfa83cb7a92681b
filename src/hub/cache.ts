// One repository's folder in the Hugging Face hub cache, in huggingface_hub's layout, so that what
// Python's tools downloaded is found here and the other way round:
//   models--owner--name/refs/<revision>            the commit a branch pointed to when last seen
//   models--owner--name/blobs/<etag>               a file's bytes, named by its checksum
//   models--owner--name/blobs/<etag>.incomplete    a download under way (resumed from its length)
//   models--owner--name/snapshots/<commit>/<path>  relative symlinks to the blobs

import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readlink, rm, rmdir, symlink, writeFile, rename } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { UserError } from "../core/errors.js";

export class RepoCache {
    readonly folder: string;

    constructor(
        readonly cacheDir: string,
        readonly repo: string,
    ) {
        this.folder = join(cacheDir, `models--${repo.split("/").join("--")}`);
    }

    blob(etag: string): string {
        return join(this.folder, "blobs", etag);
    }

    incomplete(etag: string): string {
        return `${this.blob(etag)}.incomplete`;
    }

    /** The file's place in a snapshot; a path from the Hub that would leave the snapshot is refused. */
    snapshotFile(commit: string, path: string): string {
        const root = join(this.folder, "snapshots", commit);
        const full = resolve(root, path);
        if (!full.startsWith(root + sep) || path.includes("\\"))
            throw new UserError(`the Hub listed a file outside the repository: ${path}`);
        return full;
    }

    /** The commit a revision pointed to when last downloaded (huggingface_hub writes it too). */
    ref(revision: string): string | undefined {
        if (/^[0-9a-f]{40}$/.test(revision)) return existsSync(join(this.folder, "snapshots", revision)) ? revision : undefined;
        const p = join(this.folder, "refs", revision);
        if (!existsSync(p)) return undefined;
        const commit = readFileSync(p, "utf8").trim();
        return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
    }

    async setRef(revision: string, commit: string): Promise<void> {
        if (revision === commit) return;
        const p = join(this.folder, "refs", revision);
        await mkdir(dirname(p), { recursive: true });
        await writeFile(`${p}.tmp`, commit);
        await rename(`${p}.tmp`, p);
    }

    /** Whether the snapshot holds the file complete (its blob there, of the right size). */
    has(commit: string, path: string, size: number): boolean {
        try {
            return statSync(this.snapshotFile(commit, path)).size === size;
        } catch {
            return false;
        }
    }

    /** Whether the blob is there complete (another snapshot, or Python's download, may have it without this snapshot's link). */
    hasBlob(etag: string, size: number): boolean {
        return statSync(this.blob(etag), { throwIfNoEntry: false })?.size === size;
    }

    /** Bytes of an interrupted download of this blob already on disk. */
    partialBytes(etag: string): number {
        try {
            return statSync(this.incomplete(etag)).size;
        } catch {
            return 0;
        }
    }

    /** Points the snapshot's path at the blob (relative, as huggingface_hub links). */
    async link(commit: string, path: string, etag: string): Promise<string> {
        const at = this.snapshotFile(commit, path);
        await mkdir(dirname(at), { recursive: true });
        await rm(at, { force: true });
        await symlink(relative(dirname(at), this.blob(etag)), at);
        return at;
    }

    /** The files a snapshot holds (relative paths), for offline use: what an earlier download left. */
    snapshotFiles(commit: string): string[] {
        const root = join(this.folder, "snapshots", commit);
        const out: string[] = [];
        const walk = (d: string) => {
            for (const name of readdirSync(d)) {
                const p = join(d, name);
                const s = statSync(p, { throwIfNoEntry: false });
                if (s?.isDirectory()) walk(p);
                else if (s?.isFile()) out.push(relative(root, p).split(sep).join("/"));
            }
        };
        if (existsSync(root)) walk(root);
        return out.sort();
    }

    /** Removes a snapshot file and its blob (a download autoglm made and no longer needs), and folders left empty. */
    async forget(commit: string, path: string): Promise<void> {
        const at = this.snapshotFile(commit, path);
        if (lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink()) {
            const target = resolve(dirname(at), await readlink(at));
            await rm(target, { force: true });
        }
        await rm(at, { force: true });
        for (let d = dirname(at); d.startsWith(this.folder) && d !== this.folder; d = dirname(d)) {
            if (
                !(await rmdir(d).then(
                    () => true,
                    () => false,
                ))
            )
                break;
        }
    }

    /** Removes the repository's folder when no snapshot file and no blob is left in it (refs alone are not worth keeping). */
    async removeIfEmpty(): Promise<void> {
        const files = (d: string): number => {
            if (!existsSync(d)) return 0;
            let n = 0;
            for (const name of readdirSync(d)) {
                const p = join(d, name);
                n += lstatSync(p).isDirectory() ? files(p) : 1;
            }
            return n;
        };
        if (files(join(this.folder, "snapshots")) + files(join(this.folder, "blobs")) === 0)
            await rm(this.folder, { recursive: true, force: true });
    }
}
