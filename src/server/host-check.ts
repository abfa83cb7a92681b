// The Host check, against DNS rebinding: a web page whose own name is made to resolve to this
// machine (127.0.0.1) reaches the server as same-origin, but its request still carries the page's
// name in Host. Only names that can only mean this server pass: loopback names and addresses,
// *.localhost, the address the connection came in on, the name or address given to --host, and what
// the operator names in --allowed-hosts. Everything else is a 403 before any other work.

import { isIP } from "node:net";
import type { FastifyRequest } from "fastify";
import ipaddr from "ipaddr.js";
import { ApiError } from "./errors.js";

export interface HostPolicy {
    /** What --host was given (a name or an address; a wildcard address matches nothing by itself). */
    bound: string;
    /** --allowed-hosts: exact names or addresses, ".example.com" for a domain and its subdomains, "*" for any host. */
    allowed: readonly string[];
}

/** The host of a Host header: lower case, without its port, brackets or a final dot; undefined when it is not a host. */
export function hostOf(header: string): string | undefined {
    const h = header.trim().toLowerCase();
    const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([^:[\]]+)(?::\d{1,5})?$/.exec(h);
    if (!m) return undefined;
    const host = m[1]!.replace(/\.$/, "");
    // A name of DNS characters or an address; anything else (spaces, "@", "%") is no host of ours.
    if (!isIP(host) && !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host)) return undefined;
    return host;
}

/** An address in one spelling (IPv4-mapped IPv6 as IPv4), or undefined for a name. */
function address(host: string): string | undefined {
    if (!isIP(host)) return undefined;
    return ipaddr.process(host).toString();
}

function isLoopback(host: string): boolean {
    if (host === "localhost" || host.endsWith(".localhost")) return true;
    return isIP(host) !== 0 && ipaddr.process(host).range() === "loopback";
}

function listed(host: string, allowed: readonly string[]): boolean {
    return allowed.some((a) => a === "*" || a === host || (a.startsWith(".") && (host.endsWith(a) || host === a.slice(1))));
}

/** Whether a request for `host` that arrived on `localAddress` may be served. */
export function hostAllowed(host: string, policy: HostPolicy, localAddress: string | undefined): boolean {
    if (isLoopback(host) || listed(host, policy.allowed)) return true;
    const bound = policy.bound
        .trim()
        .toLowerCase()
        .replace(/^\[(.*)\]$/, "$1");
    if (host === bound) return true;
    const a = address(host);
    // The address the client connected to: a page cannot give its own name an address literal.
    return (
        a !== undefined && ((localAddress !== undefined && isIP(localAddress) !== 0 && a === address(localAddress)) || a === address(bound))
    );
}

/** Normalises --allowed-hosts entries (lower case, no port, no brackets); refuses what can never match. */
export function parseAllowedHosts(list: string): string[] {
    return list
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s.length > 0)
        .map((s) => {
            if (s === "*") return s;
            const domain = s.startsWith(".");
            const host = hostOf(domain ? s.slice(1) : s);
            if (!host) throw new Error(`"${s}" is not a host name or address`);
            return domain ? `.${host}` : host;
        });
}

/**
 * The onRequest hook. A request without a Host header (HTTP/1.0; no browser sends one) passes, as
 * in Ollama: it cannot come from a rebound page.
 */
export function hostCheck(policy: HostPolicy) {
    return async (req: FastifyRequest): Promise<void> => {
        const header = req.headers.host;
        if (header === undefined) return;
        const host = hostOf(header);
        if (host !== undefined && hostAllowed(host, policy, req.socket?.localAddress)) return;
        const shown = JSON.stringify(header.slice(0, 100));
        throw new ApiError(
            403,
            `the Host header ${shown} names no host of this server (a guard against DNS rebinding); the operator can allow it with --allowed-hosts`,
            "host_not_allowed",
        );
    };
}
