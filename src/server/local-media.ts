// Local media (--allow-local-media DIR): a request may name a file by path or file:// URL, and only
// a regular file whose real path lies inside DIR is read, size-capped while it is read, stopped when
// the client goes away. Devices, FIFOs, sockets and directories are refused without blocking: the
// path is resolved first (realpath opens nothing), then opened non-blocking and without following a
// final symlink, and the opened descriptor itself is checked (fstat, and on Linux /proc/self/fd, so a
// path swapped between the check and the open is caught). Every refusal is the same error, so the
// answer does not tell whether a path exists.

import { constants, realpathSync, statSync } from "node:fs";
import { type FileHandle, open, readlink, realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { UserError } from "../core/errors.js";
import { CancelledError } from "../engine/errors.js";
import { ApiError } from "./errors.js";

/** O_NOFOLLOW and O_NONBLOCK where the platform has them (not on Windows, which has no FIFOs to fear). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = 1 << 20;

/** The real path of the folder --allow-local-media names, checked at start-up. */
export function mediaFolder(dir: string): string {
    let real: string;
    try {
        real = realpathSync(dir);
    } catch {
        throw new UserError(`--allow-local-media ${dir}: no such folder`);
    }
    if (!statSync(real).isDirectory())
        throw new UserError(`--allow-local-media ${dir} is not a folder (it names the one folder requests may read images from)`);
    return real;
}

/** Whether `path` (absolute) lies strictly inside `folder` (absolute, real). */
export function inside(path: string, folder: string): boolean {
    const rel = relative(folder, path);
    return rel !== "" && !isAbsolute(rel) && rel.split(sep)[0] !== "..";
}

/** Whether a request's image reference names a local file (a path or a file:// URL). */
export function isLocalReference(ref: string): boolean {
    return /^file:\/\//i.test(ref) || ref.startsWith("/") || ref.startsWith(".");
}

/**
 * The path a reference names, relative ones (and llama-server's file://relative/path) under the
 * folder; undefined when it is not a path at all.
 */
function pathOf(ref: string, folder: string): string | undefined {
    let p = ref;
    if (/^file:\/\//i.test(ref)) {
        try {
            p = decodeURIComponent(ref.slice("file://".length).replace(/[?#].*$/s, ""));
        } catch {
            return undefined;
        }
    }
    if (p.includes("\0") || p.length === 0) return undefined;
    return resolve(folder, p);
}

/**
 * The bytes of the local file `ref` names, under the folder's rules; at most `maxBytes`. Every
 * refusal (outside the folder, missing, a link out, not a regular file, too large) is one 400.
 */
export async function readLocalMedia(ref: string, folder: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const refused = () =>
        new ApiError(
            400,
            `the local image ${JSON.stringify(ref.slice(0, 200))} cannot be read: this server reads only regular files of at most ${maxBytes} bytes inside the folder it was started with (--allow-local-media)`,
            "local_media_refused",
        );
    const gone = () => new CancelledError("the client went away while its image was read");
    const path = pathOf(ref, folder);
    if (path === undefined || !inside(path, folder)) throw refused(); // `..` and absolute paths elsewhere: no file system call at all
    let real: string;
    try {
        real = await realpath(path);
    } catch {
        throw refused();
    }
    if (!inside(real, folder)) throw refused(); // a symlink out
    let fh: FileHandle;
    try {
        fh = await open(real, OPEN_FLAGS);
    } catch {
        throw refused(); // ELOOP: the last component became a symlink; EACCES; gone
    }
    try {
        // The file the descriptor holds is the one checked: a directory swapped in between is caught here.
        const opened = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
        if (opened !== undefined && !inside(opened, folder)) throw refused();
        const st = await fh.stat();
        if (!st.isFile() || st.size > maxBytes) throw refused();
        // Read to the cap, not to the size fstat gave: a file that grows while it is read stops at it.
        const buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
        let n = 0;
        for (;;) {
            if (signal?.aborted) throw gone();
            const want = Math.min(CHUNK, buf.length - n);
            if (want === 0) throw refused(); // more than maxBytes
            const { bytesRead } = await fh.read(buf, n, want, n);
            if (bytesRead === 0) break;
            n += bytesRead;
        }
        return buf.subarray(0, n);
    } finally {
        await fh.close();
    }
}
