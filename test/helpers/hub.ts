// A local stand-in for the Hugging Face Hub's HTTP API, enough for `autoglm pull` through the
// official @huggingface/hub client: the model-info, tree and paths-info routes, /resolve/ with the
// headers the client reads (ETag, X-Repo-Commit, X-Linked-Etag / X-Linked-Size for LFS files, which
// are redirected to a CDN-like route as the Hub does), Range requests answered with 206, and the
// Hub's 401 / 403 / 404 shapes (X-Error-Code). Faults for the tests: a connection dropped or held
// after N bytes of a file, a file served with a flipped byte, a size that no disk holds. Every
// request is logged.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export interface StandInFile {
    data: Buffer;
    /** Stored with Git LFS (the Hub does this for weights): sha256 etag, redirect to the CDN route. */
    lfs: boolean;
    /** The size the API claims (default: the data's); for the full-disk test. */
    claimedSize?: number;
}

export interface StandInRepo {
    id: string;
    commit: string;
    files: Map<string, StandInFile>;
    private?: boolean;
    gated?: boolean;
}

export interface Fault {
    /** After this many bytes of the body: "drop" closes the connection, "hold" stops sending until released. */
    kind: "drop" | "hold" | "corrupt";
    afterBytes?: number;
    /** How many requests it applies to (default 1). */
    times?: number;
}

export interface LoggedRequest {
    method: string;
    path: string;
    range?: string;
    authorization?: string;
}

const LFS_EXTENSIONS = /\.(safetensors|gguf|bin)$/;

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** Git's blob id, the Hub's etag for a file not in LFS. */
const gitBlobId = (b: Buffer) =>
    createHash("sha1")
        .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
        .digest("hex");

/** A repository from a folder's files (a synthesized checkpoint, converted GGUFs). */
export function repoFromFolder(id: string, dir: string, opts: { private?: boolean; gated?: boolean; files?: string[] } = {}): StandInRepo {
    const files = new Map<string, StandInFile>();
    const walk = (d: string) => {
        for (const name of readdirSync(d)) {
            const p = join(d, name);
            if (statSync(p).isDirectory()) walk(p);
            else {
                const rel = relative(dir, p).split("\\").join("/");
                if (!opts.files || opts.files.includes(rel)) files.set(rel, { data: readFileSync(p), lfs: LFS_EXTENSIONS.test(rel) });
            }
        }
    };
    walk(dir);
    files.set(".gitattributes", { data: Buffer.from("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"), lfs: false });
    return {
        id,
        commit: createHash("sha1").update(id).update(randomBytes(8)).digest("hex"),
        files,
        private: opts.private,
        gated: opts.gated,
    };
}

export class HubStandIn {
    readonly repos = new Map<string, StandInRepo>();
    readonly log: LoggedRequest[] = [];
    readonly tokens = new Set<string>();
    private readonly faults = new Map<string, Fault & { left: number }>();
    private readonly held = new Set<ServerResponse>();
    private readonly secret = randomBytes(8).toString("hex");
    private server = createServer((req, res) => this.handle(req, res));
    url = "";

    async start(): Promise<this> {
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        return this;
    }

    async close(): Promise<void> {
        this.release();
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    add(repo: StandInRepo): StandInRepo {
        this.repos.set(repo.id, repo);
        return repo;
    }

    /** A fault on one file's downloads (`repo/path`). */
    fault(repo: string, path: string, fault: Fault): void {
        this.faults.set(`${repo}/${path}`, { ...fault, left: fault.times ?? 1 });
    }

    /** Lets held responses go on (the client may have gone meanwhile). */
    release(): void {
        for (const res of this.held) res.destroy();
        this.held.clear();
    }

    /** Requests that fetched file bytes (resolve or CDN, not the size probes of Range: bytes=0-0). */
    downloads(): LoggedRequest[] {
        return this.log.filter((r) => /\/(resolve|cdn-lfs)\//.test(r.path) && r.range !== "bytes=0-0");
    }

    /** Whether a held response is waiting (the client got afterBytes and waits for more). */
    holding(): boolean {
        return this.held.size > 0;
    }

    private handle(req: IncomingMessage, res: ServerResponse): void {
        const url = new URL(req.url ?? "/", this.url);
        this.log.push({
            method: req.method ?? "GET",
            path: url.pathname,
            range: req.headers.range,
            authorization: req.headers.authorization,
        });
        res.setHeader("X-Request-Id", randomBytes(6).toString("hex"));
        let body = "";
        req.on("data", (d) => {
            body += d;
        });
        req.on("end", () => {
            try {
                this.route(req, res, url, body);
            } catch (e) {
                this.error(res, 500, "Internal", (e as Error).message);
            }
        });
    }

    private error(res: ServerResponse, status: number, code: string | undefined, message: string): void {
        res.statusCode = status;
        if (code) res.setHeader("X-Error-Code", code);
        res.setHeader("X-Error-Message", message);
        res.setHeader("Content-Type", "application/json; charset=utf-8");
        res.end(JSON.stringify({ error: message }));
    }

    /** The Hub's answers for a repository the caller may not read: it does not say whether it exists. */
    private access(req: IncomingMessage, res: ServerResponse, id: string): StandInRepo | undefined {
        const auth = req.headers.authorization;
        const token = auth?.startsWith("Bearer ") ? auth.slice(7) : undefined;
        if (token !== undefined && !this.tokens.has(token)) {
            this.error(res, 401, undefined, "Invalid credentials in Authorization header");
            return undefined;
        }
        const repo = [...this.repos.values()].find((r) => r.id.toLowerCase() === id.toLowerCase()); // the Hub ignores case
        if (!repo || (repo.private && token === undefined)) {
            this.error(
                res,
                401,
                "RepoNotFound",
                "Repository not found. If you are trying to access a private or gated repo, make sure you are authenticated.",
            );
            return undefined;
        }
        if (repo.gated && token === undefined) {
            this.error(
                res,
                401,
                "GatedRepo",
                `Access to model ${id} is restricted. You must have access to it and be authenticated to access it.`,
            );
            return undefined;
        }
        return repo;
    }

    private revision(res: ServerResponse, repo: StandInRepo, rev: string): boolean {
        if (rev === "main" || rev === "HEAD" || rev === repo.commit) return true;
        this.error(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
        return false;
    }

    private entry(path: string, f: StandInFile) {
        const size = f.claimedSize ?? f.data.length;
        return f.lfs
            ? {
                  type: "file",
                  oid: gitBlobId(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.data)}\nsize ${size}\n`)),
                  size,
                  path,
                  lfs: { oid: sha256(f.data), size, pointerSize: 134 },
              }
            : { type: "file", oid: gitBlobId(f.data), size, path };
    }

    private route(req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
        const p = decodeURIComponent(url.pathname);
        let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(p);
        if (m) {
            const repo = this.access(req, res, m[1]!);
            if (!repo || !this.revision(res, repo, m[2]!)) return;
            res.setHeader("Content-Type", "application/json; charset=utf-8");
            res.end(
                JSON.stringify({
                    _id: createHash("md5").update(repo.id).digest("hex").slice(0, 24),
                    id: repo.id,
                    modelId: repo.id,
                    sha: repo.commit,
                    private: Boolean(repo.private),
                    gated: repo.gated ? "manual" : false,
                    disabled: false,
                    downloads: 0,
                    likes: 0,
                    lastModified: "2025-12-01T00:00:00.000Z",
                    pipeline_tag: "image-text-to-text",
                    siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
                }),
            );
            return;
        }
        m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(p);
        if (m) {
            const repo = this.access(req, res, m[1]!);
            if (!repo || !this.revision(res, repo, m[2]!)) return;
            const under = m[3] ? `${m[3]}/` : "";
            const recursive = url.searchParams.get("recursive") === "true";
            const out: unknown[] = [];
            const dirs = new Set<string>();
            for (const [path, f] of repo.files) {
                if (!path.startsWith(under)) continue;
                const rest = path.slice(under.length);
                if (!recursive && rest.includes("/")) dirs.add(under + rest.split("/")[0]);
                else out.push(this.entry(path, f));
            }
            for (const d of dirs) out.push({ type: "directory", oid: gitBlobId(Buffer.from(d)), size: 0, path: d });
            res.setHeader("Content-Type", "application/json; charset=utf-8");
            res.end(JSON.stringify(out));
            return;
        }
        m = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/([^/]+)$/.exec(p);
        if (m && req.method === "POST") {
            const repo = this.access(req, res, m[1]!);
            if (!repo || !this.revision(res, repo, m[2]!)) return;
            const paths: string[] = JSON.parse(body || "{}").paths ?? [];
            const out = paths.filter((x) => repo.files.has(x)).map((x) => this.entry(x, repo.files.get(x)!));
            res.setHeader("Content-Type", "application/json; charset=utf-8");
            res.end(JSON.stringify(out));
            return;
        }
        m = /^\/cdn-lfs\/([0-9a-f]{64})$/.exec(p);
        if (m) {
            // The CDN: reachable by its signed address only, without the Hub's token.
            if (url.searchParams.get("sig") !== this.secret) {
                this.error(res, 403, undefined, "bad signature");
                return;
            }
            const found = this.lfsFile(m[1]!);
            if (!found) {
                this.error(res, 404, undefined, "no such object");
                return;
            }
            res.setHeader("ETag", `"${m[1]}"`);
            this.sendBytes(req, res, found.repo, found.path, found.file);
            return;
        }
        m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
        if (m) {
            const repo = this.access(req, res, m[1]!);
            if (!repo || !this.revision(res, repo, m[2]!)) return;
            const file = repo.files.get(m[3]!);
            if (!file) {
                this.error(res, 404, "EntryNotFound", `${m[3]} does not exist on "${m[2]}"`);
                return;
            }
            res.setHeader("X-Repo-Commit", repo.commit);
            if (file.lfs) {
                const oid = sha256(file.data);
                res.statusCode = 302;
                res.setHeader("X-Linked-Etag", `"${oid}"`);
                res.setHeader("X-Linked-Size", String(file.claimedSize ?? file.data.length));
                res.setHeader("ETag", `W/"${gitBlobId(file.data).slice(0, 20)}"`);
                res.setHeader("Location", `${this.url}/cdn-lfs/${oid}?sig=${this.secret}`);
                res.end();
                return;
            }
            res.setHeader("ETag", `"${gitBlobId(file.data)}"`);
            this.sendBytes(req, res, repo.id, m[3]!, file);
            return;
        }
        this.error(res, 404, undefined, "Not Found");
    }

    private lfsFile(oid: string): { repo: string; path: string; file: StandInFile } | undefined {
        for (const repo of this.repos.values())
            for (const [path, file] of repo.files) if (file.lfs && sha256(file.data) === oid) return { repo: repo.id, path, file };
        return undefined;
    }

    private sendBytes(req: IncomingMessage, res: ServerResponse, repo: string, path: string, file: StandInFile): void {
        const size = file.claimedSize ?? file.data.length;
        let data = file.data;
        let start = 0;
        let end = size - 1;
        res.setHeader("Accept-Ranges", "bytes");
        const range = req.headers.range;
        if (range) {
            const r = /^bytes=(\d+)-(\d*)$/.exec(range);
            if (!r || Number(r[1]) >= size) {
                res.statusCode = 416;
                res.setHeader("Content-Range", `bytes */${size}`);
                res.end();
                return;
            }
            start = Number(r[1]);
            end = r[2] ? Math.min(Number(r[2]), size - 1) : size - 1;
            res.statusCode = 206;
            res.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
        }
        res.setHeader("Content-Length", String(end - start + 1));
        res.setHeader("Content-Type", "application/octet-stream");
        if (req.method === "HEAD") return void res.end();
        const fault = range === "bytes=0-0" ? undefined : this.faults.get(`${repo}/${path}`);
        if (fault && fault.left > 0) {
            fault.left--;
            if (fault.kind === "corrupt") {
                data = Buffer.from(data);
                data[data.length >> 1] ^= 0xff;
            } else {
                const cut = Math.max(start, Math.min(end, start + (fault.afterBytes ?? 0)));
                // The bytes before the cut reach the client (written out), then the connection drops or stalls.
                if (fault.kind === "drop") res.write(data.subarray(start, cut), () => res.destroy());
                else {
                    res.write(data.subarray(start, cut));
                    this.held.add(res);
                }
                return;
            }
        }
        res.end(data.subarray(start, end + 1));
    }
}
