// Server-sent events on the raw response: `open` sends the headers, pings keep idle clients and
// proxies waiting, `end` sends [DONE] (chat and completions). A stream of named events (the
// Responses API) writes each event's `type` as its SSE event name and ends without [DONE].

import type { FastifyReply } from "fastify";

export class EventStream {
    started = false;
    private lastWrite = 0;
    private pinger?: NodeJS.Timeout;
    constructor(
        private readonly reply: FastifyReply,
        private readonly named = false,
    ) {}

    open(pingSeconds = 0): void {
        if (this.started) return;
        this.started = true;
        this.reply.hijack();
        this.reply.raw.writeHead(200, {
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            connection: "keep-alive",
            "x-accel-buffering": "no",
        });
        this.reply.raw.flushHeaders();
        this.lastWrite = Date.now();
        if (pingSeconds > 0) {
            this.pinger = setInterval(
                () => {
                    if (Date.now() - this.lastWrite >= pingSeconds * 1000) this.write(": ping\n\n");
                },
                Math.max(100, (pingSeconds * 1000) / 2),
            );
            this.pinger.unref();
        }
    }

    send(data: unknown): void {
        this.open();
        const type = this.named ? (data as { type?: unknown }).type : undefined;
        this.write(`${typeof type === "string" ? `event: ${type}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
    }

    end(): void {
        clearInterval(this.pinger);
        if (!this.reply.raw.writableEnded) this.reply.raw.end(this.named ? "" : "data: [DONE]\n\n");
    }

    private write(s: string): void {
        if (this.reply.raw.writableEnded || this.reply.raw.destroyed) return;
        this.reply.raw.write(s);
        this.lastWrite = Date.now();
    }
}
