// Incremental detokenization: emits only text that is complete (a multi-byte character split
// across tokens is held back until its last byte arrives).

import type { LlamaModel, Token } from "node-llama-cpp";

export class StreamingDetokenizer {
    private tokens: Token[] = [];
    private emitted = 0;

    constructor(private readonly model: LlamaModel) {}

    push(token: number): string {
        this.tokens.push(token as Token);
        const text = this.model.detokenize(this.tokens);
        if (text.endsWith("\uFFFD")) return ""; // incomplete UTF-8 sequence so far
        const fresh = text.slice(this.emitted);
        this.emitted = text.length;
        return fresh;
    }

    /** All text so far, including an incomplete character (at the end of an answer). */
    text(): string {
        return this.model.detokenize(this.tokens);
    }

    flush(): string {
        const text = this.text();
        const fresh = text.slice(this.emitted);
        this.emitted = text.length;
        return fresh;
    }
}
