// Server-sent events, parsed as bytes arrive (the WHATWG rules a streamed chat completion needs):
// lines end in \n, \r\n or \r; a blank line ends an event; `data:` lines join with \n; lines
// starting with ":" are comments (keep-alive pings); a chunk may end anywhere, in a line or inside
// a multi-byte character. A line or an event longer than MAX_EVENT_CHARS is a broken or hostile
// server, refused with one line rather than buffered without end.

import { UserError } from "../core/errors.js";

/** No chat completion chunk comes near this (a chunk is a token or a few). */
export const MAX_EVENT_CHARS = 8 * 2 ** 20;

export interface SseEvent {
    /** The `event:` field ("message" when absent). */
    event: string;
    data: string;
}

export class SseParser {
    private readonly decoder = new TextDecoder();
    private buffer = "";
    private data: string[] = [];
    private dataChars = 0;
    private event = "";
    /** A \r ended the last chunk: a \n starting the next one belongs to it. */
    private pendingCr = false;

    /** Feeds bytes; returns the events they complete. */
    push(chunk: Uint8Array): SseEvent[] {
        let text = this.decoder.decode(chunk, { stream: true });
        if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
        this.pendingCr = false;
        const out: SseEvent[] = [];
        // Each line ends in the new text: the buffer (an unfinished line) is not scanned again.
        let from = 0;
        for (;;) {
            const end = /\r\n|\r|\n/g;
            end.lastIndex = from;
            const m = end.exec(text);
            if (!m) break;
            if (m[0] === "\r" && m.index === text.length - 1) this.pendingCr = true; // maybe the first half of \r\n
            const line = this.buffer + text.slice(from, m.index);
            this.buffer = "";
            from = m.index + m[0].length;
            this.line(line, out);
        }
        this.buffer += text.slice(from);
        if (this.buffer.length > MAX_EVENT_CHARS) throw new UserError(`the server sent a line of more than ${MAX_EVENT_CHARS} characters`);
        return out;
    }

    /** The end of the stream: an event without its blank line is dropped, as the standard says. */
    end(): void {
        this.buffer = "";
        this.data = [];
        this.dataChars = 0;
        this.event = "";
    }

    private line(line: string, out: SseEvent[]): void {
        if (line === "") {
            if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n") });
            this.data = [];
            this.dataChars = 0;
            this.event = "";
            return;
        }
        if (line.startsWith(":")) return;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") {
            this.dataChars += value.length + 1;
            if (this.dataChars > MAX_EVENT_CHARS)
                throw new UserError(`the server sent an event of more than ${MAX_EVENT_CHARS} characters`);
            this.data.push(value);
        } else if (field === "event") this.event = value;
    }
}
