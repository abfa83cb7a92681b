// The page's only way to the server: fetch with the bearer key (asked for on a 401, kept in
// localStorage), and the chat stream read as server-sent events.

const KEY_STORE = "autoglm.apiKey";

export class Api {
    /** @param {(wrong: boolean) => Promise<string | null>} askKey shows the key prompt; null: cancelled */
    constructor(askKey) {
        this.askKey = askKey;
        this.key = localStorage.getItem(KEY_STORE) || "";
    }

    /** fetch, asking for the key again while the server answers 401 (until the user cancels). */
    async fetch(path, init = {}) {
        for (;;) {
            const headers = { ...(init.headers || {}) };
            if (this.key) headers.authorization = `Bearer ${this.key}`;
            const res = await fetch(path, { ...init, headers });
            if (res.status !== 401) return res;
            const key = await this.askKey(Boolean(this.key));
            if (!key) return res;
            this.key = key;
            localStorage.setItem(KEY_STORE, key);
        }
    }
}

/** The server's one-line reason for a failed response (its OpenAI-shaped error body). */
export async function errorText(res) {
    try {
        const body = await res.json();
        if (body?.error?.message) return `${res.status}: ${body.error.message}`;
    } catch {
        /* not JSON */
    }
    return `HTTP ${res.status}`;
}

/** The JSON events of an SSE response, until `data: [DONE]` or the end of the body. */
export async function* sseEvents(res) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value.replace(/\r\n/g, "\n");
        for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            // Comment lines (": ping") carry nothing; data lines of one event join with newlines.
            const data = block
                .split("\n")
                .filter((l) => l.startsWith("data:"))
                .map((l) => l.slice(5).replace(/^ /, ""))
                .join("\n");
            if (!data) continue;
            if (data === "[DONE]") return; // the server ends the body here
            yield JSON.parse(data);
        }
    }
}
