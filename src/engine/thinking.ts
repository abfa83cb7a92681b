// Splits a streamed answer into reasoning (inside <think>...</think>) and content, as text arrives
// in arbitrary pieces. AutoGLM wraps its final answer in <answer>...</answer>; those tags are
// removed from the content.

export interface Piece {
    kind: "reasoning" | "content";
    text: string;
}

const TAGS = ["<think>", "</think>", "<answer>", "</answer>"];

export class ThinkingSplitter {
    private pending = "";
    private inThink = false;

    /** Feeds more text; returns the pieces that are certain (a possible tag prefix is held back). */
    push(text: string): Piece[] {
        this.pending += text;
        const out: Piece[] = [];
        for (;;) {
            const i = this.pending.indexOf("<");
            if (i < 0) {
                this.emit(out, this.pending);
                this.pending = "";
                break;
            }
            this.emit(out, this.pending.slice(0, i));
            this.pending = this.pending.slice(i);
            const tag = TAGS.find((t) => this.pending.startsWith(t));
            if (tag) {
                if (tag === "<think>") this.inThink = true;
                else if (tag === "</think>") this.inThink = false;
                this.pending = this.pending.slice(tag.length);
                continue;
            }
            if (TAGS.some((t) => t.startsWith(this.pending))) break; // maybe a tag, wait for more
            this.emit(out, "<");
            this.pending = this.pending.slice(1);
        }
        return out;
    }

    /** Whatever is held back, at the end of the answer. */
    flush(): Piece[] {
        const out: Piece[] = [];
        this.emit(out, this.pending);
        this.pending = "";
        return out;
    }

    private emit(out: Piece[], text: string) {
        if (!text) return;
        const kind = this.inThink ? "reasoning" : "content";
        const last = out[out.length - 1];
        if (last && last.kind === kind) last.text += text;
        else out.push({ kind, text });
    }
}
