// The Hugging Face Hub through the official @huggingface/hub package: a repository's commit and
// files (model-info, then the tree at that commit) and a file's bytes from an offset (downloadFile,
// whose blob slices are Range requests). What this module adds is what Python's huggingface_hub does
// around those calls: the token as a header on requests to the endpoint only (so the package's
// check that a token starts with hf_ does not refuse a mirror's tokens), the Hub's error codes
// (X-Error-Code) turned into one-line messages, and a server that ignores a Range request caught.

import type { HubApiError } from "@huggingface/hub";
import { UserError } from "../core/errors.js";
import { packageVersion } from "../cli/version.js";
import type { HubSettings } from "./settings.js";

/** One file of a repository at a commit. etag: the LFS sha256 for LFS files, else git's blob id (sha1). */
export interface RemoteFile {
    path: string;
    size: number;
    etag: string;
    lfs: boolean;
}

export interface RepoListing {
    repo: string;
    commit: string;
    files: RemoteFile[];
}

/** A Range request answered with the whole file: the download starts again from byte 0. */
export class RangeIgnoredError extends Error {
    override name = "RangeIgnoredError";
}

type HubModule = typeof import("@huggingface/hub");

export class HubClient {
    private lastFailure?: { status: number; code: string | null; message: string | null };
    private hub?: HubModule;
    readonly fetch: typeof fetch;

    constructor(
        readonly settings: HubSettings,
        private readonly signal?: AbortSignal,
    ) {
        const origin = new URL(settings.endpoint).origin;
        const agent = `autoglm/${packageVersion()}; hf_hub_js`;
        this.fetch = async (input, init) => {
            const url = new URL(input instanceof Request ? input.url : String(input));
            const headers = new Headers(init?.headers);
            headers.set("User-Agent", agent);
            if (settings.token && url.origin === origin) headers.set("Authorization", `Bearer ${settings.token}`);
            const res = await fetch(url, { ...init, headers, signal: this.signal });
            if (!res.ok) {
                this.lastFailure = {
                    status: res.status,
                    code: res.headers.get("x-error-code"),
                    message: res.headers.get("x-error-message"),
                };
            }
            const from = /^bytes=(\d+)-/.exec(headers.get("Range") ?? "");
            if (from && Number(from[1]) > 0 && res.status === 200) {
                await res.body?.cancel();
                throw new RangeIgnoredError(`${url.host} ignored a Range request`);
            }
            return res;
        };
    }

    private async package(): Promise<HubModule> {
        this.hub ??= await import("@huggingface/hub"); // loaded when pulling, so --help stays light
        return this.hub;
    }

    /** The commit `revision` points to, and every file there with its size and checksum. */
    async listing(repo: string, revision = "main"): Promise<RepoListing> {
        const { modelInfo, listFiles } = await this.package();
        try {
            const info = await modelInfo({
                name: repo,
                revision,
                additionalFields: ["sha"],
                hubUrl: this.settings.endpoint,
                fetch: this.fetch,
            });
            const commit = info.sha;
            if (!/^[0-9a-f]{40}$/.test(commit ?? "")) throw new UserError(`${this.settings.endpoint} gave no commit for ${repo}`);
            const files: RemoteFile[] = [];
            for await (const e of listFiles({
                repo,
                revision: commit,
                recursive: true,
                hubUrl: this.settings.endpoint,
                fetch: this.fetch,
            })) {
                if (e.type !== "file") continue;
                const etag = e.lfs?.oid ?? e.oid;
                if (!etag) throw new UserError(`${this.settings.endpoint} gave no checksum for ${repo}/${e.path}`);
                files.push({ path: e.path, size: e.lfs?.size ?? e.size, etag, lfs: Boolean(e.lfs) });
            }
            // The Hub's own spelling (it matches names without regard to case): the models folder uses it.
            const canonical = typeof info.name === "string" && info.name.toLowerCase() === repo.toLowerCase() ? info.name : repo;
            return { repo: canonical, commit, files };
        } catch (e) {
            throw this.explain(e, repo, revision);
        }
    }

    /** The file's bytes from `offset` on, as a stream (a Range request past 0). */
    async open(repo: string, commit: string, path: string, offset: number): Promise<ReadableStream<Uint8Array>> {
        const { downloadFile } = await this.package();
        try {
            const blob = await downloadFile({
                repo,
                path,
                revision: commit,
                hubUrl: this.settings.endpoint,
                fetch: this.fetch,
                xet: false,
            });
            if (!blob) throw new UserError(`${repo} has no file ${path} at ${commit.slice(0, 12)}`);
            return (offset > 0 ? blob.slice(offset) : blob).stream() as ReadableStream<Uint8Array>;
        } catch (e) {
            throw this.explain(e, repo, commit, path);
        }
    }

    /** A failure as one line that says what to do; an interruption or a RangeIgnoredError as it is. */
    explain(e: unknown, repo: string, revision: string, path?: string): Error {
        if (this.signal?.aborted) return this.signal.reason as Error;
        if (e instanceof UserError || e instanceof RangeIgnoredError) return e;
        const err = e as Error & { statusCode?: number; cause?: { code?: string; message?: string } };
        const where = this.settings.endpoint;
        if (err?.name === "HubApiError" || typeof err?.statusCode === "number") {
            const status = (err as HubApiError).statusCode;
            const code = this.lastFailure?.status === status ? this.lastFailure.code : null;
            const text = `${this.lastFailure?.message ?? err.message.split(". URL:")[0]}`;
            const token = this.settings.tokenSource ? `the token from ${this.settings.tokenSource}` : undefined;
            if (code === "GatedRepo" || (status === 403 && /gated|restricted/i.test(text)))
                return new UserError(
                    `${repo} is gated: accept its conditions at ${where}/${repo}${token ? ` with the account of ${token}` : ", then set HF_TOKEN to a token of that account"}`,
                );
            if (status === 401 && /invalid credentials|invalid.*token/i.test(text))
                return new UserError(`${where} refused ${token ?? "the token"} (invalid credentials): check HF_TOKEN`);
            if (code === "RepoNotFound" || ((status === 401 || status === 404) && !code && !path))
                return new UserError(
                    `${repo}: no such model on ${where}, or it is private or gated and ${token ? `${token} cannot read it` : "no token was given (set HF_TOKEN)"}`,
                );
            if (code === "RevisionNotFound") return new UserError(`${repo} has no revision ${revision}`);
            if (code === "EntryNotFound" || (status === 404 && path))
                return new UserError(`${repo} has no file ${path ?? ""} at ${revision}`);
            if (status === 429) return new UserError(`${where} is rate-limiting these requests (429): try again in a few minutes`);
            if (status >= 500) return new UserError(`${where} answered ${status} for ${repo}${path ? `/${path}` : ""}: try again later`);
            return new UserError(`${where} answered ${status} for ${repo}${path ? `/${path}` : ""}: ${text}`);
        }
        const cause = err?.cause?.code ?? err?.cause?.message;
        if (err instanceof TypeError && /fetch failed/.test(err.message))
            return new UserError(
                `cannot reach ${where}${cause ? ` (${cause})` : ""}: check the network (HF_ENDPOINT for a mirror), or set HF_HUB_OFFLINE=1 to use what is already downloaded`,
            );
        return new UserError(`${repo}${path ? `/${path}` : ""}: ${typeof e === "string" ? e : (err?.message ?? String(e)).split("\n")[0]}`);
    }
}
