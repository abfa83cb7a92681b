// Stop strings over streamed text: text is released only once it cannot be the start of a stop
// string, and everything from the first stop string on is dropped.

export class StopStringFilter {
    private held = "";
    private readonly keep: number;
    stopped = false;

    constructor(private readonly stops: readonly string[]) {
        this.keep = Math.max(0, ...stops.map((s) => s.length - 1));
    }

    /** Returns the text that is safe to show; sets `stopped` when a stop string appeared. */
    push(text: string): string {
        if (this.stopped) return "";
        this.held += text;
        let cut = -1;
        for (const s of this.stops) {
            const i = this.held.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0) {
            this.stopped = true;
            const out = this.held.slice(0, cut);
            this.held = "";
            return out;
        }
        let safe = Math.max(0, this.held.length - this.keep);
        // Never release half of a surrogate pair (an emoji would print as two replacement characters).
        const c = this.held.charCodeAt(safe - 1);
        if (safe > 0 && c >= 0xd800 && c <= 0xdbff) safe--;
        const out = this.held.slice(0, safe);
        this.held = this.held.slice(safe);
        return out;
    }

    flush(): string {
        const out = this.stopped ? "" : this.held;
        this.held = "";
        return out;
    }
}
