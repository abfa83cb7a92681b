// The chat page: conversations with the server's /v1/chat/completions, streamed, kept in this
// browser (store.js). The history is sent whole each turn, as OpenAI clients do, so the server's
// slot reuses its KV cache. One answer streams at a time; opening or starting another conversation
// stops it (it stays, marked "stopped", in the conversation it began in).

import { Api, errorText, sseEvents } from "./api.js";
import { canRecord, startRecording } from "./audio.js";
import { DEFAULTS, loadSettings, requestFields, saveSettings } from "./settings.js";
import { ChatStore } from "./store.js";
import { assistantView, chatItem, el, userView } from "./view.js";

const $ = (id) => document.getElementById(id);
const ui = {
    main: $("main"),
    log: $("log"),
    model: $("model"),
    chatsToggle: $("chats-toggle"),
    sidebar: $("sidebar"),
    chats: $("chats"),
    storeNote: $("store-note"),
    newChat: $("new-chat"),
    settingsToggle: $("settings-toggle"),
    settings: $("settings"),
    systemPrompt: $("system-prompt"),
    temperature: $("temperature"),
    maxTokens: $("max-tokens"),
    thinking: $("thinking"),
    settingsReset: $("settings-reset"),
    settingsClose: $("settings-close"),
    keyState: $("key-state"),
    forgetKey: $("forget-key"),
    composer: $("composer"),
    input: $("input"),
    attachments: $("attachments"),
    attachImage: $("attach-image"),
    attachAudio: $("attach-audio"),
    record: $("record"),
    stop: $("stop"),
    send: $("send"),
    imageFile: $("image-file"),
    audioFile: $("audio-file"),
    status: $("status"),
    keyDialog: $("key-dialog"),
    keyForm: $("key-form"),
    keyCancel: $("key-cancel"),
    keyInput: $("key-input"),
    keyRemember: $("key-remember"),
    keyNote: $("key-note"),
    confirmDialog: $("confirm-dialog"),
    confirmText: $("confirm-text"),
    confirmOk: $("confirm-ok"),
    confirmCancel: $("confirm-cancel"),
};

/** An attachment's largest size: each turn sends the whole history, and the server takes 32 MiB a request by default. */
const MAX_MEDIA_BYTES = 8 * 2 ** 20;
const CURRENT_STORE = "autoglm.chat";

let settings = loadSettings();
/** @type {ChatStore} */
let store;
/** Every stored conversation's {id, title, renamed, created, updated}, the newest first. */
let chats = [];
/** The conversation on screen: {meta, turns, stored}; turns are {role: "user", text, media} or {role: "assistant", content, ...}. */
let chat;
/** What the next user turn carries besides its text: {kind: "image", url, name} | {kind: "audio", data, name}. */
let pending = [];
/** The answer streaming now: {controller, chat}. */
let running = null;
let recording = null;
let modelId = "";

function say(text) {
    ui.status.textContent = text;
}

function randomId() {
    // crypto.randomUUID needs a secure context; a page served to the LAN over http has none.
    return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function remember(key, value) {
    try {
        if (value === null) localStorage.removeItem(key);
        else localStorage.setItem(key, value);
    } catch {
        /* refused: nothing to keep */
    }
}

// ---- the API key prompt ----

function askKey(wrong) {
    ui.keyNote.textContent = wrong
        ? "The server refused that key. Enter the key it was started with (--api-key)."
        : "This server needs an API key (its --api-key).";
    ui.keyInput.value = "";
    ui.keyRemember.checked = false;
    ui.keyDialog.showModal();
    return new Promise((resolve) => {
        const done = (value) => {
            ui.keyForm.removeEventListener("submit", onSubmit);
            ui.keyDialog.removeEventListener("cancel", onCancel);
            ui.keyCancel.removeEventListener("click", onCancel);
            if (ui.keyDialog.open) ui.keyDialog.close();
            resolve(value);
        };
        const onSubmit = (e) => {
            e.preventDefault();
            const key = ui.keyInput.value.trim();
            done(key ? { key, remember: ui.keyRemember.checked } : null);
        };
        const onCancel = (e) => {
            e.preventDefault();
            done(null);
        }; // the Cancel button or Escape
        ui.keyForm.addEventListener("submit", onSubmit);
        ui.keyDialog.addEventListener("cancel", onCancel);
        ui.keyCancel.addEventListener("click", onCancel);
    });
}

const api = new Api(askKey);

function showKeyState() {
    const state = api.keyState;
    ui.keyState.textContent = {
        none: "No key is kept. The page asks for one when the server needs it.",
        session: "The key is kept for this tab until it closes.",
        remembered: "The key is remembered in this browser.",
    }[state];
    ui.forgetKey.disabled = state === "none";
}

// ---- a small confirmation dialog ----

function confirmAction(text, ok) {
    ui.confirmText.textContent = text;
    ui.confirmOk.textContent = ok;
    ui.confirmDialog.showModal();
    ui.confirmCancel.focus(); // the safe choice is the default
    return new Promise((resolve) => {
        const done = (value) => (e) => {
            e.preventDefault();
            ui.confirmOk.removeEventListener("click", yes);
            ui.confirmCancel.removeEventListener("click", no);
            ui.confirmDialog.removeEventListener("cancel", no);
            ui.confirmDialog.close();
            resolve(value);
        };
        const yes = done(true),
            no = done(false);
        ui.confirmOk.addEventListener("click", yes);
        ui.confirmCancel.addEventListener("click", no);
        ui.confirmDialog.addEventListener("cancel", no);
    });
}

// ---- the model ----

async function loadModel() {
    for (;;) {
        let res;
        try {
            res = await api.fetch("/v1/models");
        } catch {
            ui.model.textContent = "server unreachable; retrying";
            await new Promise((r) => setTimeout(r, 2000));
            continue;
        }
        if (res.status === 503) {
            ui.model.textContent = "model loading…";
            await new Promise((r) => setTimeout(r, 1000));
            continue;
        }
        if (!res.ok) {
            ui.model.textContent = await errorText(res);
            return;
        }
        const m = (await res.json()).data[0];
        modelId = m.id;
        // An answer cannot be longer than a slot's context. The default longest answer comes down to a
        // smaller context (not saved: a larger server gets the default again), or every message would be
        // refused as an invalid setting; a value the user set above it is theirs to change.
        if (m.max_model_len) {
            ui.maxTokens.max = String(m.max_model_len);
            if (settings.maxTokens === DEFAULTS.maxTokens && m.max_model_len < settings.maxTokens) {
                settings = { ...settings, maxTokens: m.max_model_len };
                ui.maxTokens.value = String(settings.maxTokens);
            }
        }
        const mod = m.meta?.modalities || {};
        const can = [mod.vision && "images", mod.audio && "audio"].filter(Boolean);
        ui.model.textContent = `${m.id}${can.length ? ` (text, ${can.join(", ")})` : " (text only)"}`;
        ui.model.title = ui.model.textContent; // whole, where a phone's header cuts it short
        setDisabled(ui.attachImage, !mod.vision, "this model takes no images (start the server with --mmproj)");
        setDisabled(ui.attachAudio, !mod.audio, "this server takes no audio (an audio mmproj or --asr-model)");
        setDisabled(
            ui.record,
            !mod.audio || !canRecord(),
            mod.audio
                ? "the browser gives the microphone to https and localhost pages only"
                : "this server takes no audio (an audio mmproj or --asr-model)",
        );
        return;
    }
}

function setDisabled(button, off, why) {
    button.disabled = off;
    button.title = off ? why : "";
}

// ---- settings ----

function showSettings() {
    ui.systemPrompt.value = settings.system;
    ui.temperature.value = settings.temperature === null ? "" : String(settings.temperature);
    ui.maxTokens.value = String(settings.maxTokens);
    ui.thinking.checked = settings.thinking;
    for (const f of [ui.temperature, ui.maxTokens]) f.removeAttribute("aria-invalid");
}

/** Reads the panel; a field that does not hold a valid value is marked and keeps its last valid value. */
function readSettings() {
    const next = { ...settings, system: ui.systemPrompt.value, thinking: ui.thinking.checked };
    const t = ui.temperature.value.trim();
    const tValid = ui.temperature.checkValidity() && (t === "" || Number.isFinite(Number(t)));
    if (tValid) next.temperature = t === "" ? null : Number(t);
    ui.temperature.toggleAttribute("aria-invalid", !tValid);
    const n = Number(ui.maxTokens.value);
    const nValid = ui.maxTokens.checkValidity() && Number.isInteger(n) && n >= 1;
    if (nValid) next.maxTokens = n;
    ui.maxTokens.toggleAttribute("aria-invalid", !nValid);
    settings = next;
    saveSettings(settings);
}

function openSettings(open) {
    ui.settings.hidden = !open;
    ui.settingsToggle.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("settings-open", open);
    if (open) {
        showKeyState();
        ui.systemPrompt.focus();
    } else ui.settingsToggle.focus();
}

/** The first settings field that holds no valid value, if any (the request would not say what the user meant). */
function invalidSetting() {
    return [ui.temperature, ui.maxTokens].find((f) => !f.checkValidity() || f.hasAttribute("aria-invalid"));
}

// ---- conversations ----

function freshChat() {
    const now = Date.now();
    return { meta: { id: randomId(), title: "New chat", renamed: false, created: now, updated: now }, turns: [], stored: false };
}

function titleOf(turn) {
    const line = turn.text.replace(/\s+/g, " ").trim();
    if (line) return line.length > 60 ? `${line.slice(0, 59)}…` : line;
    return turn.media[0]?.kind === "audio" ? "Recording" : "Image";
}

/** Conversations deleted in this page: an answer still ending in one must not write it back. */
const deleted = new Set();

/** Writes a conversation (its turns too unless `metaOnly`); a refusal (a full disk, a quota) is said, not thrown. */
async function save(c, { metaOnly = false, touch = true } = {}) {
    if (deleted.has(c.meta.id)) return;
    if (touch) c.meta.updated = Date.now();
    c.stored = true;
    const at = chats.findIndex((m) => m.id === c.meta.id);
    if (at >= 0) chats[at] = c.meta;
    else chats.unshift(c.meta);
    chats.sort((a, b) => b.updated - a.updated);
    showChats();
    try {
        await store.save(c.meta, metaOnly ? undefined : c.turns);
    } catch (e) {
        say(`this conversation could not be saved in the browser: ${e?.message || e}`);
    }
}

let listed = "";
/** Draws the list when it changed (a redraw would take the focus from a button in it). */
function showChats() {
    const now = JSON.stringify([chat?.meta.id, chats.map((m) => [m.id, m.title])]);
    if (now === listed) return;
    listed = now;
    ui.chats.replaceChildren(...chats.map((m) => chatItem(m, m.id === chat?.meta.id)));
}

function focusChat(id) {
    const b = ui.chats.querySelector(`li[data-id="${CSS.escape(id)}"] .open`);
    (b?.offsetParent ? b : ui.input).focus();
}

function showChat() {
    ui.log.replaceChildren(...chat.turns.map((t, i) => (t.role === "user" ? userView(t, i) : assistantView(t, i).turn)));
    updateActions();
    showChats();
    ui.log.scrollTop = ui.log.scrollHeight;
}

/** Stops the streaming answer; the page is free at once (the answer ends in its conversation as "stopped"). */
function stopRunning() {
    if (!running) return;
    running.controller.abort();
    setRunning(null);
}

async function openChat(id) {
    stopRunning();
    await answered; // its last words saved first: what is read below is then the whole of it
    const meta = chats.find((m) => m.id === id);
    if (!meta) return;
    const turns = await store.turns(id);
    chat = { meta, turns, stored: true };
    // An answer that was streaming when the page closed ends here, as what it had become.
    const cut = turns.filter((t) => t.pending);
    for (const t of cut) {
        t.pending = false;
        t.note = "interrupted: the page was closed while it answered";
    }
    if (cut.length) await save(chat, { touch: false });
    remember(CURRENT_STORE, id);
    showChat();
}

function startChat() {
    stopRunning();
    chat = freshChat();
    remember(CURRENT_STORE, null);
    showChat();
}

async function renameChat(id) {
    const li = ui.chats.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    const meta = chats.find((m) => m.id === id);
    if (!li || !meta) return;
    const input = el("input", {
        type: "text",
        class: "rename",
        value: meta.title,
        "aria-label": `New name for “${meta.title}”`,
        maxlength: "200",
    });
    li.replaceChildren(input);
    input.focus();
    input.select();
    let finished = false;
    const finish = async (keep) => {
        if (finished) return;
        finished = true;
        const title = input.value.replace(/\s+/g, " ").trim();
        if (keep && title && title !== meta.title) {
            meta.title = title;
            meta.renamed = true;
            const c = chat.meta.id === id ? chat : { meta, turns: undefined };
            await save(c, { metaOnly: true, touch: false });
        }
        listed = ""; // the rename box replaced the item
        showChats();
        focusChat(id);
    };
    input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
            e.preventDefault();
            void finish(true);
        } else if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            void finish(false);
        }
    });
    input.addEventListener("blur", () => void finish(true));
}

async function deleteChat(id) {
    const meta = chats.find((m) => m.id === id);
    if (!meta) return;
    if (!(await confirmAction(`Delete “${meta.title}”? Its messages and images are removed from this browser.`, "Delete"))) {
        focusChat(id);
        return;
    }
    const at = chats.indexOf(meta);
    deleted.add(id);
    if (chat.meta.id === id) stopRunning();
    try {
        await store.delete(id);
    } catch (e) {
        deleted.delete(id);
        say(`the conversation could not be deleted: ${e?.message || e}`);
        return;
    }
    chats.splice(at, 1);
    const next = chats[Math.min(at, chats.length - 1)];
    if (chat.meta.id === id) {
        if (next) await openChat(next.id);
        else startChat();
    } else showChats();
    say(`deleted “${meta.title}”`);
    if (next) focusChat(next.id);
    else ui.newChat.focus();
}

// ---- attachments ----

function readDataUrl(blob) {
    return new Promise((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(r.result);
        r.onerror = () => reject(r.error);
        r.readAsDataURL(blob);
    });
}

function tooLarge(blob, name) {
    if (blob.size <= MAX_MEDIA_BYTES) return false;
    say(`${name} is larger than ${MAX_MEDIA_BYTES / 2 ** 20} MiB: too large to send with every turn and keep in the browser`);
    return true;
}

async function attachImage(file) {
    if (!file.type.startsWith("image/")) {
        say(`${file.name || "that file"} is not an image`);
        return;
    }
    if (ui.attachImage.disabled) {
        say(ui.attachImage.title);
        return;
    }
    if (tooLarge(file, file.name || "the image")) return;
    pending.push({ kind: "image", url: await readDataUrl(file), name: file.name || "pasted image" });
    showPending();
}

async function attachAudio(blob, name) {
    if (tooLarge(blob, name)) return;
    const url = await readDataUrl(blob);
    pending.push({ kind: "audio", data: url.slice(url.indexOf(",") + 1), name });
    showPending();
}

function showPending() {
    ui.attachments.replaceChildren(
        ...pending.map((a, i) => {
            const preview =
                a.kind === "image"
                    ? el("img", { src: a.url, alt: a.name, class: "thumb" })
                    : el("span", { class: "clip", text: `♪ ${a.name}` });
            const remove = el("button", { type: "button", class: "remove", "aria-label": `Remove ${a.name}`, text: "×" });
            remove.addEventListener("click", () => {
                pending.splice(i, 1);
                showPending();
                ui.input.focus();
            });
            return el("li", {}, [preview, remove]);
        }),
    );
}

// ---- the conversation ----

function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
}

/** Edit and Regenerate wait while an answer streams; Regenerate is offered on the last answer only. */
function updateActions() {
    const busy = Boolean(running);
    const last = chat.turns.length - 1;
    for (const b of ui.log.querySelectorAll("[data-action=edit], [data-action=regenerate]")) b.disabled = busy;
    for (const b of ui.log.querySelectorAll("[data-action=regenerate]")) b.hidden = Number(b.closest(".turn").dataset.index) !== last;
}

function setRunning(r) {
    running = r;
    ui.stop.disabled = !r;
    ui.send.disabled = Boolean(r);
    updateActions();
}

/** A user turn's content as the API takes it: the text alone, or its media first and then the text. */
function userContent(t) {
    if (t.media.length === 0) return t.text;
    return [
        ...t.media.map((m) =>
            m.kind === "image"
                ? { type: "image_url", image_url: { url: m.url } }
                : { type: "input_audio", input_audio: { data: m.data, format: "wav" } },
        ),
        ...(t.text ? [{ type: "text", text: t.text }] : []),
    ];
}

/** The messages of a request: the system prompt, then the conversation without the turns the server refused. */
function requestMessages(turns) {
    const out = settings.system.trim() ? [{ role: "system", content: settings.system }] : [];
    for (let i = 0; i < turns.length; i++) {
        const t = turns[i];
        if (t.role === "user") {
            if (turns[i + 1]?.error) {
                i++; // a refused turn is not part of the conversation
                continue;
            }
            out.push({ role: "user", content: userContent(t) });
        } else out.push({ role: "assistant", content: t.content });
    }
    return out;
}

async function send() {
    if (running) return;
    const text = ui.input.value.trim();
    if (!text && pending.length === 0) {
        say("type a message or attach an image or a recording");
        return;
    }
    const bad = invalidSetting();
    if (bad) {
        say(`the setting “${bad.labels[0]?.textContent}” holds no valid value`);
        openSettings(true);
        bad.focus();
        return;
    }
    const turn = {
        role: "user",
        text,
        media: pending.map((a) => (a.kind === "image" ? { ...a } : { kind: "audio", data: a.data, name: a.name })),
    };
    ui.input.value = "";
    pending = [];
    showPending();
    say("");
    chat.turns.push(turn);
    if (!chat.meta.renamed && chat.turns.length === 1) chat.meta.title = titleOf(turn);
    ui.log.append(userView(turn, chat.turns.length - 1));
    remember(CURRENT_STORE, chat.meta.id);
    await answer(chat);
}

/** Settles when the latest answer has ended and been saved. */
let answered = Promise.resolve();

/** Streams the answer to `c`'s turns into a new assistant turn at its end. */
function answer(c) {
    answered = streamAnswer(c).catch((e) => say(`the answer failed: ${e?.message || e}`));
    return answered;
}

async function streamAnswer(c) {
    const messages = requestMessages(c.turns);
    const m = { role: "assistant", content: "", reasoning: "", transcripts: [], pending: true };
    c.turns.push(m);
    const view = assistantView(m, c.turns.length - 1);
    ui.log.append(view.turn);
    ui.log.scrollTop = ui.log.scrollHeight;
    const controller = new AbortController();
    setRunning({ controller, chat: c });
    ui.input.focus();
    void save(c);
    let frame = 0,
        saveTimer = 0;
    const draw = () => {
        frame = 0;
        const near = nearBottom();
        view.refresh();
        if (near) ui.log.scrollTop = ui.log.scrollHeight;
    };
    const changed = () => {
        if (!frame) frame = requestAnimationFrame(draw); // one redraw a frame: a token per DOM update is slow
        // Saved at most once a second while it streams, so a closed tab loses little.
        saveTimer ||= setTimeout(() => {
            saveTimer = 0;
            void save(c, { touch: false });
        }, 1000);
    };
    const started = performance.now();
    let ttftMs = null,
        timings = null,
        usage = null,
        failure = null,
        finished = false;
    try {
        const res = await api.fetch("/v1/chat/completions", {
            method: "POST",
            signal: controller.signal,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
                model: modelId || undefined,
                messages,
                stream: true,
                stream_options: { include_usage: true },
                // Thinking apart (reasoning_content) whatever the server's --reasoning-format.
                reasoning_format: "deepseek",
                return_reasoning: true,
                ...requestFields(settings),
            }),
        });
        if (!res.ok) failure = await errorText(res);
        else {
            for await (const ev of sseEvents(res)) {
                if (ev.error) {
                    failure = ev.error.message;
                    break;
                }
                if (ev.usage) usage = ev.usage;
                if (typeof ev.transcript === "string") {
                    m.transcripts.push(ev.transcript);
                    changed();
                }
                const choice = ev.choices?.[0];
                if (!choice) continue;
                if (ev.timings) timings = ev.timings;
                if (choice.finish_reason) finished = true;
                const d = choice.delta || {};
                if ((d.reasoning_content || d.content) && ttftMs === null) ttftMs = performance.now() - started;
                if (d.reasoning_content) m.reasoning += d.reasoning_content;
                if (d.content) m.content += d.content;
                if (d.reasoning_content || d.content) changed();
            }
            if (!finished && !failure) failure = "the stream ended before the answer did";
        }
    } catch (e) {
        if (!controller.signal.aborted) failure = `the request failed: ${e.message}`;
    }
    const stopped = controller.signal.aborted;
    if (frame) cancelAnimationFrame(frame);
    m.pending = false;
    if (failure && !stopped) m.error = failure;
    else {
        m.stats = {
            prompt: usage ? usage.prompt_tokens : timings ? timings.cache_n + timings.prompt_n : null,
            cached: usage ? usage.prompt_tokens_details?.cached_tokens || 0 : timings ? timings.cache_n : 0,
            ttftMs,
            tokensPerSecond: timings ? timings.predicted_per_second : null,
            tokens: usage ? usage.completion_tokens : (timings?.predicted_n ?? null),
        };
        if (stopped) m.note = "stopped";
    }
    clearTimeout(saveTimer);
    await save(c, { touch: false }); // kept before it shows as ended: a reload then finds it whole
    view.refresh();
    if (running?.controller === controller) setRunning(null);
    // Back to the message box, unless the user went elsewhere meanwhile (the settings, the list).
    const at = document.activeElement;
    if (c === chat && (!at || at === document.body || at === ui.stop || at === ui.send)) ui.input.focus();
}

function turnOf(button) {
    const article = button.closest(".turn");
    return article ? Number(article.dataset.index) : -1;
}

async function copyText(text) {
    try {
        await navigator.clipboard.writeText(text);
    } catch {
        // No clipboard API (a LAN page over http is no secure context): the old way, through a selection.
        const area = el("textarea", { class: "sr-only", "aria-hidden": "true" });
        area.value = text;
        document.body.append(area);
        area.select();
        const ok = document.execCommand("copy");
        area.remove();
        if (!ok) throw new Error("the browser refused the clipboard");
    }
}

async function copyTurn(i, button) {
    const t = chat.turns[i];
    try {
        await copyText(t.role === "user" ? t.text : t.content);
        say(t.role === "user" ? "your message is copied" : "the answer is copied");
    } catch (e) {
        say(`could not copy: ${e.message}`);
    }
    button.focus();
}

function editTurn(i, button) {
    const t = chat.turns[i];
    const article = button.closest(".turn");
    const later = chat.turns.length - 1 - i;
    const area = el("textarea", { class: "edit-input", rows: "3", "aria-label": "Edit your message" });
    area.value = t.text;
    const cancel = el("button", { type: "button", text: "Cancel" });
    const form = el("form", { class: "edit", "aria-label": "Edit your message" }, [
        area,
        later > 0 ? el("p", { class: "note", text: `Sending replaces the ${later} message${later > 1 ? "s" : ""} after this one.` }) : null,
        el("div", { class: "actions" }, [cancel, el("button", { type: "submit", class: "primary", text: "Send" })]),
    ]);
    const shown = [...article.querySelectorAll(":scope > .text, :scope > .turn-actions")];
    for (const e of shown) e.hidden = true;
    article.append(form);
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    const close = () => {
        form.remove();
        for (const e of shown) e.hidden = false;
        article.querySelector("[data-action=edit]").focus();
    };
    const submit = () => {
        const text = area.value.trim();
        if (!text && t.media.length === 0) {
            say("the message is empty");
            return;
        }
        if (running) {
            say("an answer is still coming: stop it first");
            return;
        }
        t.text = text;
        chat.turns.length = i + 1;
        showChat();
        void answer(chat);
    };
    cancel.addEventListener("click", close);
    form.addEventListener("submit", (e) => {
        e.preventDefault();
        submit();
    });
    area.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
        } else if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            close();
        }
    });
}

function regenerate(i) {
    if (running || i !== chat.turns.length - 1 || chat.turns[i].role !== "assistant") return;
    chat.turns.length = i;
    ui.log.querySelector(`.turn[data-index="${i}"]`)?.remove();
    void answer(chat);
}

// ---- recording ----

async function toggleRecording() {
    if (recording) {
        const r = recording;
        recording = null;
        ui.record.setAttribute("aria-pressed", "false");
        ui.record.textContent = "Record";
        say("converting the recording to WAV…");
        try {
            const wav = await r.stop();
            await attachAudio(wav, `recording ${new Date().toLocaleTimeString()}.wav`);
            if (ui.status.textContent.startsWith("converting")) say("");
        } catch (e) {
            say(`the recording could not be converted: ${e.message}`);
        }
        return;
    }
    try {
        recording = await startRecording();
    } catch (e) {
        say(`no microphone: ${e.message}`);
        return;
    }
    ui.record.setAttribute("aria-pressed", "true");
    ui.record.textContent = "Stop recording";
    say("recording… press the button again to finish");
}

// ---- wiring ----

function narrow() {
    return getComputedStyle(ui.chatsToggle).display !== "none";
}

function showSidebar(open) {
    document.body.classList.toggle("chats-open", open);
    ui.chatsToggle.setAttribute("aria-expanded", String(open));
}

showSettings();
for (const f of [ui.systemPrompt, ui.temperature, ui.maxTokens]) f.addEventListener("input", readSettings);
ui.thinking.addEventListener("change", readSettings);
ui.settingsToggle.addEventListener("click", () => openSettings(ui.settings.hidden));
ui.settingsClose.addEventListener("click", () => openSettings(false));
ui.settingsReset.addEventListener("click", () => {
    settings = { ...DEFAULTS };
    saveSettings(settings);
    showSettings();
    say("the settings are back to their defaults");
});
ui.forgetKey.addEventListener("click", () => {
    api.forget();
    showKeyState();
    say("the key is forgotten; the page asks for it when the server needs it");
});
ui.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    void send();
});
ui.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void send();
    }
});
document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented || ui.keyDialog.open || ui.confirmDialog.open) return;
    if (!ui.settings.hidden && ui.settings.contains(document.activeElement)) openSettings(false);
    else if (document.body.classList.contains("chats-open") && ui.sidebar.contains(document.activeElement)) {
        showSidebar(false);
        ui.chatsToggle.focus();
    } else stopRunning();
});
ui.stop.addEventListener("click", () => {
    stopRunning();
    ui.input.focus(); // the Stop button is disabled now
});
ui.newChat.addEventListener("click", () => {
    startChat();
    showSidebar(false);
    ui.input.focus();
});
ui.chatsToggle.addEventListener("click", () => {
    const open = !document.body.classList.contains("chats-open");
    showSidebar(open);
    if (open) (ui.chats.querySelector("[aria-current] ") || ui.newChat).focus();
});
// On a narrow window the list lies over the chat: a tap on the chat closes it.
ui.main.addEventListener("click", () => {
    if (document.body.classList.contains("chats-open")) showSidebar(false);
});
ui.chats.addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-action]");
    const id = b?.closest("li")?.dataset.id;
    if (!id) return;
    if (b.dataset.action === "open") {
        if (id !== chat.meta.id) await openChat(id);
        if (narrow()) showSidebar(false);
        ui.input.focus();
    } else if (b.dataset.action === "rename") void renameChat(id);
    else if (b.dataset.action === "delete") void deleteChat(id);
});
ui.log.addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.classList.contains("copy-code")) {
        copyText(b.closest(".code").querySelector("pre").textContent).then(
            () => say("the code is copied"),
            (err) => say(`could not copy: ${err.message}`),
        );
        return;
    }
    const i = turnOf(b);
    if (i < 0 || !chat.turns[i]) return;
    if (b.dataset.action === "copy") void copyTurn(i, b);
    else if (b.dataset.action === "edit" && !running) editTurn(i, b);
    else if (b.dataset.action === "regenerate") regenerate(i);
});
ui.attachImage.addEventListener("click", () => ui.imageFile.click());
ui.attachAudio.addEventListener("click", () => ui.audioFile.click());
ui.record.addEventListener("click", () => void toggleRecording());
ui.imageFile.addEventListener("change", async () => {
    for (const f of ui.imageFile.files) await attachImage(f);
    ui.imageFile.value = "";
    ui.input.focus();
});
ui.audioFile.addEventListener("change", async () => {
    // The server decodes WAV itself; a picked file goes as it is.
    for (const f of ui.audioFile.files) await attachAudio(f, f.name);
    ui.audioFile.value = "";
    ui.input.focus();
});
ui.input.addEventListener("paste", (e) => {
    const images = [...(e.clipboardData ? e.clipboardData.files : [])].filter((f) => f.type.startsWith("image/"));
    if (images.length === 0) return;
    e.preventDefault();
    for (const f of images) void attachImage(f);
});
document.addEventListener("dragover", (e) => {
    e.preventDefault();
    document.body.classList.add("dropping");
});
document.addEventListener("dragleave", (e) => {
    if (!e.relatedTarget) document.body.classList.remove("dropping");
});
document.addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("dropping");
    for (const f of e.dataTransfer ? e.dataTransfer.files : []) void attachImage(f);
});

store = await ChatStore.open();
if (!store.persistent) {
    ui.storeNote.hidden = false;
    ui.storeNote.textContent = `Conversations are not kept after this page closes: ${store.why}`;
}
chats = await store.list();
let last = null;
try {
    last = localStorage.getItem(CURRENT_STORE);
} catch {
    /* refused */
}
if (last && chats.some((m) => m.id === last)) await openChat(last);
else startChat();
ui.input.focus();
await loadModel();
document.body.dataset.ready = "true";
performance.mark("autoglm:ready"); // what the tests read as time to interactive
