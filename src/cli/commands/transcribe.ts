// `autoglm transcribe-and-answer <audio.wav>`: a speech model (GLM-ASR, converted by autoglm)
// transcribes, then the chat model answers; when the chat model has an audio mmproj of its own,
// that one model does both.

import { Command } from "commander";
import { ChatSession } from "../../engine/chat.js";
import { createContext } from "../../engine/context.js";
import { answerWithMedia, openEncoder, readMmproj } from "../../engine/media-answer.js";
import { Session } from "../../engine/session.js";
import { Transcriber, transcriptPrompt } from "../../engine/transcriber.js";
import { decodeWav } from "../../media/audio.js";
import { addModelOptions, loadFromFlags, settingsFrom, speechModelFromFlags, type ModelFlags } from "../model-options.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";

interface Flags extends ModelFlags {
    question?: string; asrModel?: string; asrMmproj?: string; mmproj?: string; json?: boolean; temp: number; maxTokens: number;
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
            const audioTurn = (text: string) => ({ text, media: [{ kind: "audio" as const, item: { samples: audio.samples } }] });

            if (f.mmproj) {
                // The chat model hears the audio itself.
                await readMmproj(f.mmproj, "audio encoder");
                const loaded = await loadFromFlags(f, log);
                try {
                    const enc = openEncoder(loaded, f.mmproj, settings, "audio");
                    try {
                        const question = f.question ?? "Answer what is said in this recording.";
                        const r = await withInterrupt((signal) => answerWithMedia(loaded, settings, enc, audioTurn(question), { maxTokens: f.maxTokens, sampling, signal }));
                        out.answer = r.content;
                        out.stats.answer = { promptTokens: r.stats.promptTokens, answerTokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs };
                    } finally { enc.dispose(); }
                } finally { await loaded.dispose(); }
            } else {
                const asr = await speechModelFromFlags(f, log);
                const transcriber = new Transcriber(asr, { gpu: f.gpu, gpuLayers: f.gpuLayers }, settings, undefined, (m) => log(`speech model ${m.path} | ${m.architecture} | backend ${m.backend} | loaded in ${(m.loadMs / 1000).toFixed(1)} s`));
                try {
                    const r = await withInterrupt((signal) => transcriber.transcribe(audio.samples, { maxTokens: f.maxTokens, signal }));
                    out.transcript = r.content;
                    out.stats.transcript = { promptTokens: r.stats.promptTokens, tokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs, audioSeconds: audio.seconds };
                } finally { await transcriber.dispose(); }
                if (!f.json) process.stdout.write(`transcript: ${out.transcript}\n`);
                const loaded = await loadFromFlags(f, log);
                try {
                    const ctx = createContext(loaded, settings);
                    try {
                        const chat = new ChatSession(loaded, new Session(ctx), { maxTokens: f.maxTokens, sampling });
                        const r = await withInterrupt((signal) => chat.send(transcriptPrompt(out.transcript ?? "", f.question), undefined, signal));
                        out.answer = r.content;
                        out.stats.answer = { promptTokens: r.stats.evaluatedTokens, answerTokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs };
                    } finally { ctx.dispose(); }
                } finally { await loaded.dispose(); }
            }
            if (f.json) process.stdout.write(`${JSON.stringify(out)}\n`);
            else process.stdout.write(`answer: ${out.answer}\n`);
        });
}
