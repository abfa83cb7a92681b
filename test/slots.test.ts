// The slot pool's sharing rules on their own (serve-security.test.ts checks them through HTTP): the
// per-client limit and its accounting, the order a freed slot is handed on, and cache isolation.
// The sequences are stand-ins that record what the pool asks of them; no model is loaded.
import { describe, expect, it } from "vitest";
import type { Sequence } from "../src/engine/sequence.js";
import { CancelledError, ClientLimitError, QueueFullError } from "../src/engine/errors.js";
import { SlotPool, type Slot } from "../src/engine/slots.js";

/** A sequence whose cached text is `text`; counts its resets. */
function fakeSequence(text = "") {
    const s = {
        text,
        resets: 0,
        sharedText(t: string) {
            let i = 0;
            while (i < s.text.length && i < t.length && s.text[i] === t[i]) i++;
            return i;
        },
        reset() {
            s.resets++;
            s.text = "";
        },
    };
    return s;
}

function pool(n: number, queue: number, policy = {}) {
    const seqs = Array.from({ length: n }, () => fakeSequence());
    const slots: Slot[] = seqs.map((sequence, id) => ({ id, sequence: sequence as unknown as Sequence, busy: false }));
    const p = new SlotPool(slots, queue);
    p.configure(policy);
    return { p, slots, seqs };
}

describe("SlotPool sharing", () => {
    it("a client holds at most perClient places (running, waiting, preparing); they come back as its requests end", async () => {
        const { p } = pool(1, 8, { perClient: 2 });
        const a1 = await p.acquire("x", undefined, p.reserve("a"));
        const a2 = p.reserve("a");
        expect(() => p.reserve("a")).toThrow(ClientLimitError);
        const b = p.reserve("b"); // another client is not limited by a's share
        b.release();
        a2.release(); // a request that failed while preparing gives its place back
        const a3 = p.acquire("x", undefined, p.reserve("a"));
        expect(() => p.reserve("a")).toThrow(ClientLimitError);
        p.release(a1);
        p.release(await a3);
        expect(p.busy).toBe(0);
        p.reserve("a").release();
        p.reserve("a").release(); // all of a's places came back
    });

    it("a client whose waiting request is cancelled gets its place back; the queue limit still answers 503 first", async () => {
        const { p } = pool(1, 1, { perClient: 5 });
        const running = await p.acquire("x", undefined, p.reserve("a"));
        const abort = new AbortController();
        const waiting = p.acquire("x", abort.signal, p.reserve("a"));
        expect(() => p.reserve("b")).toThrow(QueueFullError);
        abort.abort();
        await expect(waiting).rejects.toThrow(CancelledError);
        expect(p.queued).toBe(0);
        p.reserve("b").release();
        p.release(running);
    });

    it("a freed slot goes to the waiting client with the fewest running slots, then the one served longest ago, then in arrival order", async () => {
        const { p } = pool(2, 8, { perClient: 8 });
        const order: string[] = [];
        const a1 = await p.acquire("x", undefined, p.reserve("a"));
        const a2 = await p.acquire("x", undefined, p.reserve("a"));
        const wait = (client: string, name: string) =>
            p.acquire("x", undefined, p.reserve(client)).then((s) => {
                order.push(name);
                return s;
            });
        const a3 = wait("a", "a3"),
            a4 = wait("a", "a4"),
            b1 = wait("b", "b1"),
            c1 = wait("c", "c1"),
            b2 = wait("b", "b2");
        p.release(a1); // a runs 1, b and c none: b first (it came before c)
        await b1;
        p.release(a2); // a runs 0, b 1, c 0: c (never served) before a
        await c1;
        p.release(await b1); // a 0 (served long ago), b 0 (just served), c 1: a
        await a3;
        p.release(await c1); // a 1, b 0: b
        await b2;
        expect(order).toEqual(["b1", "c1", "a3", "b2"]);
        for (const s of [await a3, await b2]) p.release(s);
        p.release(await a4);
        expect(p.busy).toBe(0);
    });

    it("without isolation a slot's cache serves whoever shares its prompt; with it, only the client that filled it", async () => {
        const open = pool(2, 0);
        open.seqs[1]!.text = "system prompt of a";
        const s = await open.p.acquire("system prompt of a, then b's question", undefined, open.p.reserve("b"));
        expect(s.id).toBe(1); // the cached prompt is reused across clients
        expect(open.seqs[1]!.resets).toBe(0);

        const iso = pool(2, 0, { isolate: true });
        const first = await iso.p.acquire("system prompt of a", undefined, iso.p.reserve("a"));
        iso.seqs[first.id]!.text = "system prompt of a";
        iso.p.release(first);
        const resetsBefore = iso.seqs[first.id]!.resets;
        const forB = await iso.p.acquire("system prompt of a, then b's question", undefined, iso.p.reserve("b"));
        expect(forB.id).not.toBe(first.id); // a's cache is worth nothing to b: the other slot
        iso.p.release(forB);
        const again = await iso.p.acquire("system prompt of a, again", undefined, iso.p.reserve("a"));
        expect(again.id).toBe(first.id); // a finds its own cache
        expect(iso.seqs[first.id]!.resets).toBe(resetsBefore);
        iso.p.release(again);
        // One slot, two clients: the slot is cleared before it serves the other client.
        const one = pool(1, 0, { isolate: true });
        const x = await one.p.acquire("t", undefined, one.p.reserve("a"));
        one.p.release(x);
        const r = one.seqs[0]!.resets;
        one.p.release(await one.p.acquire("t", undefined, one.p.reserve("a")));
        expect(one.seqs[0]!.resets).toBe(r);
        one.p.release(await one.p.acquire("t", undefined, one.p.reserve("b")));
        expect(one.seqs[0]!.resets).toBe(r + 1);
    });

    it("slots lent to a request's extra choices (takeIdle) are its client's places: within its share, cleared for another client under isolation", async () => {
        const { p, seqs } = pool(3, 4, { perClient: 2, isolate: true });
        // Clients b and c filled every slot's cache before.
        const bs = await Promise.all(["b", "b", "c"].map((c) => p.acquire(`${c}'s prompt`, undefined, p.reserve(c))));
        for (const s of bs) p.release(s);
        const resets = seqs.map((q) => q.resets);
        const a = await p.acquire("a's prompt", undefined, p.reserve("a"));
        const lent = p.takeIdle(5, "a");
        expect(lent.length).toBe(1); // a's share is 2: its request and one lent slot
        expect(lent[0]!.client).toBe("a");
        expect(seqs[lent[0]!.id]!.resets).toBe(resets[lent[0]!.id]! + 1); // the other client's cache forgotten before a's choice runs on it
        expect(() => p.reserve("a")).toThrow(ClientLimitError); // the lent slot counts
        const b = await p.acquire("b's prompt", undefined, p.reserve("b")); // another client still gets the idle slot
        expect(p.takeIdle(5, "a")).toEqual([]); // none idle
        p.release(lent[0]!);
        p.release(a);
        p.reserve("a").release(); // the lent slot's place came back with it
        p.release(b);
        // None lent while a request waits; without a per-client limit every idle slot may be lent.
        const open = pool(3, 4);
        const held = await Promise.all([0, 1, 2].map(() => open.p.acquire("x")));
        const waiting = open.p.acquire("y");
        open.p.release(held[0]!);
        const y = await waiting;
        expect(open.p.takeIdle(2)).toEqual([]);
        for (const s of [held[1]!, held[2]!, y]) open.p.release(s);
        expect(open.p.takeIdle(5).length).toBe(3);
    });
});
