// The page's only way to the server: fetch with the bearer key (asked for on a 401), and the chat
// stream read as server-sent events. The key is kept for this tab's session (sessionStorage) unless
// the user ticks "remember" (then localStorage, until they forget it): another app later served on
// the same host and port would read a key left in localStorage.

const KEY_STORE = "autoglm.apiKey";

/** Web storage may be refused (a privacy setting, a sandbox): then the key lives in memory only. */
function storage(kind) {
    try {
        const s = kind === "local" ? window.localStorage : window.sessionStorage;
        s.getItem(KEY_STORE);
        return s;
    } catch {
        return null;
    }
}

export class Api {
    /** @param {(wrong: boolean) => Promise<{key: string, remember: boolean} | null>} askKey shows the key prompt; null: cancelled */
    constructor(askKey) {
        this.askKey = askKey;
        this.key = storage("session")?.getItem(KEY_STORE) || storage("local")?.getItem(KEY_STORE) || "";
    }

    /** Where the key is kept: "remembered" (localStorage), "session", or "none". */
    get keyState() {
        if (storage("local")?.getItem(KEY_STORE)) return "remembered";
        return this.key ? "session" : "none";
    }

    /** Uses `key` from now on, kept for this session or, with `remember`, on this device. */
    keep(key, remember) {
        this.key = key;
        const [keep, drop] = remember ? [storage("local"), storage("session")] : [storage("session"), storage("local")];
        drop?.removeItem(KEY_STORE);
        keep?.setItem(KEY_STORE, key);
    }

    /** Forgets the key everywhere; the next request that needs one asks again. */
    forget() {
        this.key = "";
        storage("local")?.removeItem(KEY_STORE);
        storage("session")?.removeItem(KEY_STORE);
    }

    /** fetch, asking for the key again while the server answers 401 (until the user cancels). */
    async fetch(path, init = {}) {
        for (;;) {
            const headers = { ...(init.headers || {}) };
            if (this.key) headers.authorization = `Bearer ${this.key}`;
            const res = await fetch(path, { ...init, headers });
            if (res.status !== 401) return res;
            const answer = await this.askKey(Boolean(this.key));
            if (!answer) return res;
            this.keep(answer.key, answer.remember);
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
