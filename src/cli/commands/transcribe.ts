// `autoglm transcribe-and-answer <audio.wav>`: a speech model (GLM-ASR, converted by autoglm)
// transcribes, then the chat model answers; when the chat model has an audio mmproj of its own,
// that one model does both.

import { Command } from "commander";
import { UserError } from "../../../convert/errors.js";
import { defaultAsrModel, DEFAULT_ASR_NOTE } from "../../../models/default-model.js";
import type { ChatMessage } from "../../engine/chat-template.js";
import { answerWithMedia, openEncoder } from "../../engine/media-answer.js";
import { checkGguf } from "../../engine/model.js";
import { decodeWav } from "../../media/audio.js";
import { addModelOptions, loadFromFlags, settingsFrom, type ModelFlags } from "../model-options.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";

interface Flags extends ModelFlags {
    question?: string; asrModel?: string; asrMmproj?: string; mmproj?: string; json?: boolean; temp: number; maxTokens: number;
}

const TRANSCRIBE = "Please transcribe this audio into text";

async function requireMmproj(path: string, what: string): Promise<void> {
    const isModel = await checkGguf(path).then(() => true, (e) => {
        if (/mmproj/.test((e as Error).message)) return false;
        throw e;
    });
    if (isModel) throw new UserError(`${path} is a language model, not an mmproj (${what}) file`);
}

export function transcribeCommand(): Command {
    return addModelOptions(new Command("transcribe-and-answer").description("transcribe a WAV recording with a speech model, then answer it with the chat model"))
        .argument("<audio>", "WAV file (8/16/24/32-bit PCM or float, any rate, mono or stereo)")
        .option("-q, --question <text>", "a question about the recording (default: answer what was said)")
        .option("--asr-model <file>", "speech model GGUF (GLM-ASR converted by autoglm convert)")
        .option("--asr-mmproj <file>", "its audio encoder mmproj")
        .option("--mmproj <file>", "an audio mmproj of the chat model itself: then one model transcribes and answers")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("-n, --max-tokens <n>", "longest transcript and answer, in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 512)
        .option("--json", "print {transcript, answer, stats} as JSON")
        .action(async (audioPath: string, f: Flags) => {
            const log = (line: string) => process.stderr.write(`${line}\n`);
            const settings = settingsFrom(f);
            const sampling = { temperature: f.temp, seed: 0 };
            const audio = await decodeWav(audioPath);
            const out: { transcript?: string; answer: string; seconds: number; stats: Record<string, unknown> } = { answer: "", seconds: audio.seconds, stats: {} };

            if (f.mmproj) {
                // The chat model hears the audio itself.
                await requireMmproj(f.mmproj, "audio encoder");
                const loaded = await loadFromFlags(f, log);
                try {
                    const enc = openEncoder(loaded, f.mmproj, settings, "audio");
                    try {
                        const question = f.question ?? "Answer what is said in this recording.";
                        const r = await withInterrupt((signal) => answerWithMedia(loaded, settings, enc, [{ role: "user", content: [{ type: "audio" }, { type: "text", text: question }] }], [{ samples: audio.samples }], { maxTokens: f.maxTokens, sampling, signal }));
                        out.answer = r.content;
                        out.stats.answer = { promptTokens: r.stats.promptTokens, answerTokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs };
                    } finally { enc.dispose(); }
                } finally { await loaded.dispose(); }
            } else {
                let asr = { text: f.asrModel, audio: f.asrMmproj };
                if (!asr.text && !asr.audio) { log(DEFAULT_ASR_NOTE); asr = await defaultAsrModel(); }
                if (!asr.text || !asr.audio) throw new UserError("give both --asr-model and --asr-mmproj (the speech model and its audio encoder)");
                await requireMmproj(asr.audio, "audio encoder");
                const asrLoaded = await loadFromFlags({ ...f, model: asr.text }, log);
                try {
                    const enc = openEncoder(asrLoaded, asr.audio, settings, "audio");
                    try {
                        const messages: ChatMessage[] = [{ role: "user", content: [{ type: "audio" }, { type: "text", text: TRANSCRIBE }] }];
                        const r = await withInterrupt((signal) => answerWithMedia(asrLoaded, settings, enc, messages, [{ samples: audio.samples }], { maxTokens: f.maxTokens, sampling, signal }));
                        out.transcript = r.content;
                        out.stats.transcript = { promptTokens: r.stats.promptTokens, tokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs, audioSeconds: audio.seconds };
                    } finally { enc.dispose(); }
                } finally { await asrLoaded.dispose(); }
                if (!f.json) process.stdout.write(`transcript: ${out.transcript}\n`);
                const loaded = await loadFromFlags(f, log);
                try {
                    const { ChatSession } = await import("../../engine/chat.js");
                    const { createContext } = await import("../../engine/context.js");
                    const { Session } = await import("../../engine/session.js");
                    const ctx = createContext(loaded, settings);
                    try {
                        const chat = new ChatSession(loaded, new Session(ctx), { maxTokens: f.maxTokens, sampling });
                        const prompt = f.question ? `${f.question}\n\nTranscript of the recording: ${out.transcript}` : out.transcript ?? "";
                        const r = await withInterrupt((signal) => chat.send(prompt, undefined, signal));
                        out.answer = r.content;
                        out.stats.answer = { promptTokens: r.stats.evaluatedTokens, answerTokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs };
                    } finally { ctx.dispose(); }
                } finally { await loaded.dispose(); }
            }
            if (f.json) process.stdout.write(`${JSON.stringify(out)}\n`);
            else process.stdout.write(`answer: ${out.answer}\n`);
        });
}
