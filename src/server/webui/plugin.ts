// The built-in web chat page at `/` (docs/server-contract.md, "Web chat page"): a few hand-written
// files from ./page and the browser builds of two installed packages (marked, DOMPurify), read once
// at start-up, served from memory with their content types, a strict CSP, an ETag for revalidation
// and a gzip copy for clients that take it. The page holds no secret, so it needs no API key (as
// llama-server's); everything it asks of the server does.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InternalError } from "../../core/errors.js";

/**
 * Where the page's files are: this file compiles to dist/src/server/webui/, the files stay in
 * src/server/webui/page (shipped through package.json "files"; tsc copies nothing but code).
 */
function pageDir(): string {
    const here = fileURLToPath(new URL(".", import.meta.url));
    for (const dir of [join(here, "page"), join(here, "..", "..", "..", "..", "src", "server", "webui", "page")]) {
        if (existsSync(join(dir, "index.html"))) return dir;
    }
    throw new InternalError(
        `the web page's files are missing (looked for src/server/webui/page/index.html from ${here}); reinstall autoglm or start it with --no-webui`,
    );
}

/**
 * The page's libraries, served at /webui/vendor/<name>: each package's ES-module browser build, by
 * its path inside the package, at the exact version package.json pins. No CDN, no build step.
 */
const VENDOR: Record<string, { pkg: string; file: string }> = {
    "marked.esm.js": { pkg: "marked", file: "lib/marked.esm.js" },
    "purify.es.mjs": { pkg: "dompurify", file: "dist/purify.es.mjs" },
};

const TYPES: Record<string, string> = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
};

/**
 * Scripts and styles only from this server; images and sounds also from the data:/blob: URLs the
 * page makes of what the user attaches; requests only to this server; no frames, no forms, no plugins.
 * Trusted Types: no string reaches an HTML or script sink except through DOMPurify's own policy, so
 * a slip in the page's code is an error, not a hole.
 */
export const WEBUI_CSP = [
    "default-src 'none'",
    "script-src 'self'",
    "require-trusted-types-for 'script'",
    "trusted-types dompurify",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
].join("; ");

interface Asset {
    type: string;
    body: Buffer;
    gzip: Buffer;
    etag: string;
}

function asset(name: string, body: Buffer): Asset {
    return {
        type: TYPES[extname(name)]!,
        body,
        gzip: gzipSync(body, { level: 9 }),
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
    };
}

function loadAssets(dir: string): Map<string, Asset> {
    const assets = new Map<string, Asset>();
    for (const name of readdirSync(dir)) {
        if (!TYPES[extname(name)]) continue; // only the kinds of file the page is made of
        assets.set(name, asset(name, readFileSync(join(dir, name))));
    }
    if (!assets.has("index.html")) throw new InternalError(`${dir} has no index.html`);
    return assets;
}

/** The folder a package is installed in (its exports may not include package.json, so from its entry point up). */
function packageRoot(pkg: string): string {
    let dir: string;
    try {
        dir = dirname(createRequire(import.meta.url).resolve(pkg));
    } catch {
        throw new InternalError(
            `the web page needs the package ${pkg}, which is not installed; reinstall autoglm or start it with --no-webui`,
        );
    }
    for (; dirname(dir) !== dir; dir = dirname(dir)) {
        const manifest = join(dir, "package.json");
        if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === pkg) return dir;
    }
    throw new InternalError(`the package ${pkg} has no package.json above its entry point; reinstall autoglm`);
}

function loadVendor(): Map<string, Asset> {
    const vendor = new Map<string, Asset>();
    for (const [name, { pkg, file }] of Object.entries(VENDOR)) {
        const path = join(packageRoot(pkg), file);
        if (!existsSync(path)) throw new InternalError(`the web page needs ${path} (package ${pkg}), which is missing; reinstall autoglm`);
        vendor.set(name, asset(name, readFileSync(path)));
    }
    return vendor;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset) {
    // no-cache: the browser keeps the file but asks each time; the ETag makes the answer a 304.
    void reply
        .header("content-type", a.type)
        .header("cache-control", "no-cache")
        .header("etag", a.etag)
        .header("vary", "accept-encoding")
        .header("content-security-policy", WEBUI_CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("x-frame-options", "DENY");
    if (req.headers["if-none-match"] === a.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))) return reply.header("content-encoding", "gzip").send(a.gzip);
    return reply.send(a.body);
}

/** Serves the page at /, its files at /webui/<name> and its libraries at /webui/vendor/<name>; `public` routes skip the API key check. */
export async function webuiPlugin(app: FastifyInstance): Promise<void> {
    const assets = loadAssets(pageDir());
    const vendor = loadVendor();
    const config = { public: true };
    app.get("/", { config }, async (req, reply) => send(req, reply, assets.get("index.html")!));
    app.get("/webui/:name", { config }, async (req, reply) => {
        const a = assets.get((req.params as { name: string }).name);
        if (!a) return reply.callNotFound();
        return send(req, reply, a);
    });
    app.get("/webui/vendor/:name", { config }, async (req, reply) => {
        const a = vendor.get((req.params as { name: string }).name);
        if (!a) return reply.callNotFound();
        return send(req, reply, a);
    });
}
