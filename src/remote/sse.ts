// Server-sent events, parsed as bytes arrive (the WHATWG rules a streamed chat completion needs):
// lines end in \n, \r\n or \r; a blank line ends an event; `data:` lines join with \n; lines
// starting with ":" are comments (keep-alive pings); a chunk may end anywhere, in a line or inside
// a multi-byte character.

export interface SseEvent {
    /** The `event:` field ("message" when absent). */
    event: string;
    data: string;
}

export class SseParser {
    private readonly decoder = new TextDecoder();
    private buffer = "";
    private data: string[] = [];
    private event = "";
    /** A \r ended the last chunk: a \n starting the next one belongs to it. */
    private pendingCr = false;

    /** Feeds bytes; returns the events they complete. */
    push(chunk: Uint8Array): SseEvent[] {
        let text = this.decoder.decode(chunk, { stream: true });
        if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
        this.pendingCr = false;
        this.buffer += text;
        const out: SseEvent[] = [];
        for (;;) {
            const m = /\r\n|\r|\n/.exec(this.buffer);
            if (!m) break;
            if (m[0] === "\r" && m.index === this.buffer.length - 1) {
                this.pendingCr = true; // maybe the first half of \r\n
            }
            const line = this.buffer.slice(0, m.index);
            this.buffer = this.buffer.slice(m.index + m[0].length);
            this.line(line, out);
        }
        return out;
    }

    /** The end of the stream: an event without its blank line is dropped, as the standard says. */
    end(): void {
        this.buffer = "";
        this.data = [];
        this.event = "";
    }

    private line(line: string, out: SseEvent[]): void {
        if (line === "") {
            if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n") });
            this.data = [];
            this.event = "";
            return;
        }
        if (line.startsWith(":")) return;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") this.data.push(value);
        else if (field === "event") this.event = value;
    }
}
