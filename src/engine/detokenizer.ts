// Incremental detokenization: emits only text that is complete (a multi-byte character split
// across tokens is held back until its last byte arrives). Each token is detokenized once, with
// a few preceding tokens as context (so spacing rules see them), not the whole answer again.

import type { LlamaModel, Token } from "node-llama-cpp";

const CONTEXT_TOKENS = 4;

export class StreamingDetokenizer {
    private all: Token[] = [];
    private pending: Token[] = [];

    constructor(private readonly model: LlamaModel) {}

    private render(): string {
        const before = this.all.length - this.pending.length;
        return this.model.detokenize(this.pending, false, this.all.slice(Math.max(0, before - CONTEXT_TOKENS), before));
    }

    push(token: number): string {
        this.all.push(token as Token);
        this.pending.push(token as Token);
        const text = this.render();
        if (text.endsWith("\uFFFD")) return ""; // incomplete UTF-8 sequence so far
        this.pending = [];
        return text;
    }

    /** Whatever is held back, at the end of an answer (an incomplete character included). */
    flush(): string {
        if (this.pending.length === 0) return "";
        const text = this.render();
        this.pending = [];
        return text;
    }
}
