// The remote media fetcher's pinning (serve-security.test.ts checks the rest through HTTP): the name
// is resolved once, the address checked, and the connection made to that address, never to a second
// resolution a rebinding DNS server could answer differently. Here the resolver is a stand-in that
// answers for a name the system's DNS does not know: the fetch can only succeed through the pin.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const resolved: string[] = [];
vi.mock("node:dns/promises", async (original) => ({
    ...(await original<typeof import("node:dns/promises")>()),
    lookup: vi.fn(async (host: string) => {
        resolved.push(host);
        return [{ address: "127.0.0.1", family: 4 }];
    }),
}));

const { fetchRemoteMedia } = await import("../src/server/remote-media.js");

let server: Server;
let port = 0;
const body = Buffer.from("the image bytes");

beforeAll(async () => {
    server = createServer((req, res) => {
        if (req.url === "/hop") res.writeHead(302, { location: `http://second.rebound.test:${port}/img` }).end();
        else res.writeHead(200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
});

afterAll(() => server.close());

describe("remote media pinning", () => {
    it("connects to the address it checked: a name only the checked resolution knows is fetched, once per hop", async () => {
        const policy = { allowedHosts: [".rebound.test"], maxBytes: 1024, timeoutMs: 30_000 };
        expect(await fetchRemoteMedia(`http://first.rebound.test:${port}/img`, policy)).toEqual(body);
        expect(resolved).toEqual(["first.rebound.test"]);
        resolved.length = 0;
        expect(await fetchRemoteMedia(`http://first.rebound.test:${port}/hop`, policy)).toEqual(body);
        expect(resolved).toEqual(["first.rebound.test", "second.rebound.test"]); // the redirect's host resolved and checked too
    });

    it("a name that resolves only to loopback is refused when it is not an allowed host, before any connection", async () => {
        resolved.length = 0;
        const policy = { allowedHosts: [], maxBytes: 1024, timeoutMs: 30_000 };
        await expect(fetchRemoteMedia(`http://first.rebound.test:${port}/img`, policy)).rejects.toMatchObject({
            code: "remote_media_unavailable",
        });
        expect(resolved).toEqual(["first.rebound.test"]);
    });
});
