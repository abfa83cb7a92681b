// Remote media (--allow-remote-media): an image URL fetched without becoming a way into the
// server's network. Each hop's name is resolved here and the connection pinned to the address that
// was checked (undici's connect.lookup), so DNS rebinding cannot swap it; loopback, private,
// link-local, unspecified and every other non-public address is refused unless the host is named in
// --media-allowed-hosts; redirects are followed here (at most 5), each checked the same way; the
// size cap is enforced while the body arrives; the whole fetch has one deadline. Every failure to
// reach a destination is one message, so the server cannot be used to scan ports or networks; only a
// body that arrives too slowly or too large says so.

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, request } from "undici";
import { CancelledError } from "../engine/errors.js";
import { ApiError } from "./errors.js";

export interface RemoteMediaPolicy {
    /** Hosts fetched whatever their address (--media-allowed-hosts): exact names or addresses, ".example.com" for a domain. */
    allowedHosts: readonly string[];
    maxBytes: number;
    /** The whole fetch, redirects and body included. */
    timeoutMs: number;
    /** Why a URL was refused or failed, for the server log (the client gets one message). */
    onRefusal?: (line: string) => void;
}

const MAX_REDIRECTS = 5;

/** Only public unicast addresses are fetched; IPv4-mapped IPv6 is judged as the IPv4 address it is. */
export function publicAddress(address: string): boolean {
    return ipaddr.isValid(address) && ipaddr.process(address).range() === "unicast";
}

function hostListed(host: string, allowed: readonly string[]): boolean {
    return allowed.some((a) => a === host || (a.startsWith(".") && (host.endsWith(a) || host === a.slice(1))));
}

class Unreachable extends Error {}

const unavailable = () =>
    new ApiError(
        400,
        "the image URL could not be fetched: it is unreachable, refused by this server's media policy, or did not answer with an image (one answer for all of these); send the image as a base64 data: URL",
        "remote_media_unavailable",
    );

/** The address to connect to for `url`: resolved once, checked, and the only one the connection may use. */
async function destination(url: URL, policy: RemoteMediaPolicy, signal: AbortSignal): Promise<{ address: string; family: number }> {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    const listed = hostListed(host, policy.allowedHosts);
    if (isIP(host)) {
        if (!listed && !publicAddress(host)) throw new Unreachable(`${host} is not a public address`);
        return { address: host, family: isIP(host) };
    }
    const found = await Promise.race([
        lookup(host, { all: true, verbatim: true }).catch((e: Error) => {
            throw new Unreachable(`${host} does not resolve (${(e as { code?: string }).code ?? e.message})`);
        }),
        new Promise<never>((_, reject) => {
            if (signal.aborted) reject(new Unreachable("timed out resolving the name"));
            signal.addEventListener("abort", () => reject(new Unreachable("timed out resolving the name")), { once: true });
        }),
    ]);
    const usable = listed ? found : found.filter((a) => publicAddress(a.address));
    if (usable.length === 0) throw new Unreachable(`${host} resolves to ${found.map((a) => a.address).join(", ")}: no public address`);
    return usable[0]!;
}

/** A net.connect lookup that answers the checked address, whatever it is asked. */
function pinned(to: { address: string; family: number }) {
    return (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
        if (opts?.all) cb(null, [{ address: to.address, family: to.family }]);
        else cb(null, to.address, to.family);
    };
}

/** The bytes an http(s) image URL gives, under `policy`; `signal` is the client's (gone: stop). */
export async function fetchRemoteMedia(url: string, policy: RemoteMediaPolicy, signal?: AbortSignal): Promise<Buffer> {
    const deadline = AbortSignal.timeout(policy.timeoutMs);
    const both = signal ? AbortSignal.any([deadline, signal]) : deadline;
    const refuse = (why: string) => {
        policy.onRefusal?.(`remote media ${url.slice(0, 300)}: ${why}`);
        return unavailable();
    };
    let target: URL;
    try {
        target = new URL(url);
    } catch {
        throw refuse("not a URL");
    }
    let bodyStarted = false;
    for (let hop = 0; ; hop++) {
        if (target.protocol !== "http:" && target.protocol !== "https:") throw refuse(`${target.protocol} is not http or https`);
        if (target.username || target.password) throw refuse("credentials in the URL");
        const dispatcher = new Agent({ connect: { lookup: pinned(await checked(target)) } as never });
        try {
            const res = await request(target, {
                dispatcher,
                method: "GET",
                signal: both,
                headers: { accept: "image/*", "accept-encoding": "identity", "user-agent": "autoglm" },
            });
            if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
                discard(res.body);
                if (hop >= MAX_REDIRECTS) throw refuse(`more than ${MAX_REDIRECTS} redirects`);
                target = new URL(String(res.headers.location), target);
                continue;
            }
            if (res.statusCode < 200 || res.statusCode >= 300) {
                discard(res.body);
                throw refuse(`HTTP ${res.statusCode}`);
            }
            const declared = Number(res.headers["content-length"] ?? NaN);
            if (declared > policy.maxBytes) {
                discard(res.body);
                throw tooLarge(policy.maxBytes);
            }
            bodyStarted = true;
            const parts: Buffer[] = [];
            let n = 0;
            for await (const chunk of res.body) {
                n += (chunk as Buffer).length;
                if (n > policy.maxBytes) {
                    discard(res.body);
                    throw tooLarge(policy.maxBytes);
                }
                parts.push(chunk as Buffer);
            }
            return Buffer.concat(parts, n);
        } catch (e) {
            if (e instanceof ApiError) throw e;
            if (signal?.aborted) throw new CancelledError("the client went away while its image was fetched");
            if (deadline.aborted && bodyStarted)
                throw new ApiError(
                    400,
                    `the image URL's body did not arrive within ${policy.timeoutMs / 1000} s (--media-timeout)`,
                    "remote_media_timeout",
                );
            throw refuse(e instanceof Unreachable ? e.message : `${(e as { code?: string }).code ?? ""} ${(e as Error).message}`.trim());
        } finally {
            void dispatcher.destroy().catch(() => {});
        }
    }

    async function checked(u: URL) {
        try {
            return await destination(u, policy, both);
        } catch (e) {
            if (signal?.aborted) throw new CancelledError("the client went away while its image was fetched");
            throw refuse(e instanceof Unreachable ? e.message : (e as Error).message);
        }
    }
}

/** Stops a body that will not be read (destroying it emits an error nobody else listens to). */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
    body.on("error", () => {});
    body.destroy();
}

const tooLarge = (max: number) => new ApiError(400, `the image URL's body is larger than ${max} bytes`, "remote_media_too_large");
