// Conversations kept in this browser, in IndexedDB: a conversation carries its images and recordings
// (megabytes each), more than localStorage's few megabytes per site hold, and IndexedDB stores them
// without blocking the page while it writes. Two object stores, so that the list is read without
// the media: "chats" holds each conversation's title and times, "turns" its messages.
// Nothing leaves the browser; the server keeps no conversation.

const DB = "autoglm";
const VERSION = 1;

const result = (req) =>
    new Promise((resolve, reject) => {
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
const committed = (tx) =>
    new Promise((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = tx.onabort = () => reject(tx.error || new Error("the browser cancelled the write"));
    });

/** The stored conversations. `persistent` is false when the browser refused IndexedDB (then they live until the page closes). */
export class ChatStore {
    constructor(db, why) {
        this.db = db;
        this.persistent = Boolean(db);
        this.why = why || "";
        this.memory = new Map(); // id -> {meta, turns}, when there is no database
    }

    static async open() {
        try {
            const db = await new Promise((resolve, reject) => {
                const req = indexedDB.open(DB, VERSION);
                req.onupgradeneeded = () => {
                    req.result.createObjectStore("chats", { keyPath: "id" });
                    req.result.createObjectStore("turns");
                };
                req.onsuccess = () => resolve(req.result);
                req.onerror = () => reject(req.error);
                // Another tab holds an older version open: say so rather than wait for it.
                req.onblocked = () => reject(new Error("another tab of this page holds the conversation store open; close it and reload"));
            });
            // A newer version of the page opened elsewhere: let it upgrade.
            db.onversionchange = () => db.close();
            return new ChatStore(db);
        } catch (e) {
            return new ChatStore(null, e?.message || "IndexedDB is not available");
        }
    }

    /** Every conversation's {id, title, renamed, created, updated}, the newest first. */
    async list() {
        const all = this.db
            ? await result(this.db.transaction("chats").objectStore("chats").getAll())
            : [...this.memory.values()].map((c) => c.meta);
        return all.sort((a, b) => b.updated - a.updated);
    }

    /** A conversation's messages ([] if it is gone). */
    async turns(id) {
        if (!this.db) return this.memory.get(id)?.turns ?? [];
        return (await result(this.db.transaction("turns").objectStore("turns").get(id))) ?? [];
    }

    /** Writes a conversation's title and times, and its messages unless `turns` is omitted. */
    async save(meta, turns) {
        if (!this.db) {
            this.memory.set(meta.id, {
                meta: { ...meta },
                turns: turns ? structuredClone(turns) : (this.memory.get(meta.id)?.turns ?? []),
            });
            return;
        }
        const tx = this.db.transaction(turns ? ["chats", "turns"] : ["chats"], "readwrite");
        tx.objectStore("chats").put(meta);
        if (turns) tx.objectStore("turns").put(turns, meta.id);
        await committed(tx);
    }

    async delete(id) {
        if (!this.db) {
            this.memory.delete(id);
            return;
        }
        const tx = this.db.transaction(["chats", "turns"], "readwrite");
        tx.objectStore("chats").delete(id);
        tx.objectStore("turns").delete(id);
        await committed(tx);
    }
}
