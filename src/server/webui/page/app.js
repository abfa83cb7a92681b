// The chat page: a conversation with the server's /v1/chat/completions, streamed. The history is
// sent whole each turn, as OpenAI clients do, so the server's slot reuses its KV cache. Model output
// is only ever set as text (textContent / text nodes), never parsed as HTML.

import { Api, errorText, sseEvents } from "./api.js";
import { canRecord, startRecording } from "./audio.js";

const $ = (id) => document.getElementById(id);
const ui = {
    log: $("log"),
    model: $("model"),
    thinking: $("thinking"),
    newChat: $("new-chat"),
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
    keyNote: $("key-note"),
};

const THINKING_STORE = "autoglm.thinking";
/** The conversation as sent to the server: OpenAI messages. */
let history = [];
/** What the next user turn carries besides its text: {kind: "image", url, name} | {kind: "audio", base64, blob, name}. */
let pending = [];
/** The running answer's AbortController, if one streams now. */
let running = null;
let recording = null;
let modelId = "";

function el(tag, props = {}, children = []) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
        if (k === "text") e.textContent = v;
        else if (k in e && typeof v !== "string") e[k] = v;
        else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
}

function say(text) {
    ui.status.textContent = text;
}

// ---- the API key prompt ----

function askKey(wrong) {
    ui.keyNote.textContent = wrong
        ? "The server refused that key. Enter the key it was started with (--api-key)."
        : "This server needs an API key (its --api-key). It is kept in this browser only.";
    ui.keyInput.value = "";
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
            done(ui.keyInput.value.trim() || null);
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
        const mod = m.meta?.modalities || {};
        const can = [mod.vision && "images", mod.audio && "audio"].filter(Boolean);
        ui.model.textContent = `${m.id}${can.length ? ` (text, ${can.join(", ")})` : " (text only)"}`;
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

// ---- attachments ----

function readDataUrl(blob) {
    return new Promise((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(r.result);
        r.onerror = () => reject(r.error);
        r.readAsDataURL(blob);
    });
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
    pending.push({ kind: "image", url: await readDataUrl(file), name: file.name || "pasted image" });
    showPending();
}

async function attachAudio(blob, name) {
    const url = await readDataUrl(blob);
    pending.push({ kind: "audio", base64: url.slice(url.indexOf(",") + 1), blob, name });
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
function follow(wasNear) {
    if (wasNear) ui.log.scrollTop = ui.log.scrollHeight;
}

function userTurn(text, media) {
    const turn = el("article", { class: "turn user", "aria-label": "You" });
    for (const a of media) {
        if (a.kind === "image") turn.append(el("img", { src: a.url, alt: a.name, class: "thumb" }));
        else
            turn.append(
                el("figure", { class: "clip" }, [
                    el("audio", { controls: true, src: URL.createObjectURL(a.blob) }),
                    el("figcaption", { text: a.name }),
                ]),
            );
    }
    if (text) turn.append(el("p", { class: "text", text }));
    ui.log.append(turn);
}

/** The answer's elements, and text appended to them once per frame (a token per DOM update is slow). */
function assistantTurn() {
    const thought = el("div", { class: "thought" });
    const summary = el("summary", { text: "Thinking…" });
    const thinking = el("details", { class: "thinking", hidden: true }, [summary, thought]);
    const content = el("div", { class: "text" });
    const stats = el("p", { class: "stats" });
    const turn = el("article", { class: "turn assistant", "aria-label": "Assistant", "aria-busy": "true" }, [thinking, content, stats]);
    ui.log.append(turn);
    const queued = { thought: "", content: "" };
    let frame = 0;
    const flush = () => {
        frame = 0;
        const near = nearBottom();
        if (queued.thought) {
            thinking.hidden = false;
            thought.append(queued.thought);
            queued.thought = "";
        }
        if (queued.content) {
            content.append(queued.content);
            queued.content = "";
        }
        follow(near);
    };
    const add = (where, text) => {
        queued[where] += text;
        if (!frame) frame = requestAnimationFrame(flush);
    };
    return {
        turn,
        stats,
        // What the server's speech model heard in a recording (an extension chunk of autoglm's).
        transcript: (t) => turn.insertBefore(el("p", { class: "transcript", text: `Heard: ${t}` }), thinking),
        thought: (t) => add("thought", t),
        text: (t) => add("content", t),
        end(note, isError) {
            if (frame) cancelAnimationFrame(frame);
            flush();
            turn.setAttribute("aria-busy", "false");
            summary.textContent = "Thinking";
            if (note) turn.append(el("p", { class: isError ? "error" : "note", text: note, ...(isError ? { role: "alert" } : {}) }));
        },
    };
}

function showStats(where, usage, timings, ttftMs) {
    const parts = [];
    const prompt = usage ? usage.prompt_tokens : timings && timings.cache_n + timings.prompt_n;
    const cached = usage ? usage.prompt_tokens_details?.cached_tokens || 0 : timings ? timings.cache_n : 0;
    if (prompt != null) parts.push(`${prompt} prompt tokens (${cached} cached)`);
    if (ttftMs != null) parts.push(`first token ${Math.round(ttftMs)} ms`);
    if (timings) parts.push(`${timings.predicted_per_second.toFixed(1)} tokens/s`);
    const n = usage ? usage.completion_tokens : timings?.predicted_n;
    if (n != null) parts.push(`${n} tokens`);
    where.textContent = parts.join(" · ");
    if (prompt != null) {
        where.dataset.promptTokens = String(prompt);
        where.dataset.cachedTokens = String(cached);
    }
}

function setRunning(controller) {
    running = controller;
    ui.stop.disabled = !controller;
    ui.send.disabled = Boolean(controller);
}

async function send() {
    if (running) return;
    const text = ui.input.value.trim();
    if (!text && pending.length === 0) {
        say("type a message or attach an image or a recording");
        return;
    }
    const media = pending;
    const content =
        media.length === 0
            ? text
            : [
                  ...media.map((a) =>
                      a.kind === "image"
                          ? { type: "image_url", image_url: { url: a.url } }
                          : { type: "input_audio", input_audio: { data: a.base64, format: "wav" } },
                  ),
                  ...(text ? [{ type: "text", text }] : []),
              ];
    ui.input.value = "";
    pending = [];
    showPending();
    say("");
    userTurn(text, media);
    const conversation = history; // "New chat" while this streams starts another; this answer stays in its own
    conversation.push({ role: "user", content });
    const answer = assistantTurn();
    follow(true);
    const controller = new AbortController();
    setRunning(controller);
    const started = performance.now();
    let ttftMs = null,
        reply = "",
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
                messages: conversation,
                stream: true,
                stream_options: { include_usage: true },
                // Thinking apart (reasoning_content) whatever the server's --reasoning-format; on or off as switched.
                reasoning_format: "deepseek",
                return_reasoning: true,
                chat_template_kwargs: { enable_thinking: ui.thinking.checked },
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
                if (typeof ev.transcript === "string") answer.transcript(ev.transcript);
                const choice = ev.choices?.[0];
                if (!choice) continue;
                if (ev.timings) timings = ev.timings;
                if (choice.finish_reason) finished = true;
                const d = choice.delta || {};
                if ((d.reasoning_content || d.content) && ttftMs === null) ttftMs = performance.now() - started;
                if (d.reasoning_content) answer.thought(d.reasoning_content);
                if (d.content) {
                    reply += d.content;
                    answer.text(d.content);
                }
            }
            if (!finished && !failure) failure = "the stream ended before the answer did";
        }
    } catch (e) {
        if (!controller.signal.aborted) failure = `the request failed: ${e.message}`;
    }
    const stopped = controller.signal.aborted;
    setRunning(null);
    if (failure && !stopped) {
        conversation.pop(); // the turn the server refused is not part of the conversation
        answer.end(failure, true);
    } else {
        conversation.push({ role: "assistant", content: reply });
        showStats(answer.stats, usage, timings, ttftMs);
        answer.end(stopped ? "stopped" : "", false);
    }
    ui.input.focus();
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
            say("");
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

ui.thinking.checked = localStorage.getItem(THINKING_STORE) !== "off";
ui.thinking.addEventListener("change", () => localStorage.setItem(THINKING_STORE, ui.thinking.checked ? "on" : "off"));
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
    if (e.key === "Escape" && running && !ui.keyDialog.open) running.abort();
});
ui.stop.addEventListener("click", () => {
    if (running) running.abort();
});
ui.newChat.addEventListener("click", () => {
    if (running) running.abort();
    history = [];
    ui.log.replaceChildren();
    ui.input.focus();
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

await loadModel();
document.body.dataset.ready = "true";
performance.mark("autoglm:ready"); // what the tests read as time to interactive
