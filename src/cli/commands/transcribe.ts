// `autoglm transcribe-and-answer <audio.wav>`: a speech model (GLM-ASR, converted by autoglm)
// transcribes, then the chat model answers; when the chat model has an audio mmproj of its own,
// that one model hears and answers. Both routes are one turn: the runtime's media policy decides.

import { Command } from "commander";
import { readMmproj } from "../../engine/encoders.js";
import { DEFAULT_QUESTION } from "../../engine/media-policy.js";
import type { MediaReport } from "../../engine/turn.js";
import { addMediaOptions, addModelOptions, speechModelFromFlags, type MediaFlags, type ModelFlags } from "../model-options.js";
import { openEngine } from "../open-engine.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";
import { escapeControls } from "../terminal-text.js";
import { setLibraryLogs } from "../../engine/library-log.js";

interface Flags extends ModelFlags, MediaFlags {
    prompt?: string;
    json?: boolean;
    temp: number;
    maxTokens: number;
    verbose?: boolean;
}

export function transcribeCommand(): Command {
    return addMediaOptions(
        addModelOptions(
            new Command("transcribe-and-answer").description(
                "transcribe a WAV recording with a speech model, then answer it with the chat model",
            ),
        ),
        { mmproj: "an audio mmproj of the chat model itself: then one model hears and answers", speech: true },
    )
        .argument("<audio>", "WAV file (8/16/24/32-bit PCM or float, any rate, mono or stereo)")
        .option("-p, --prompt <text>", "a question about the recording, as describe's --prompt (default: answer what was said)")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("-n, --max-tokens <n>", "longest answer, in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 512)
        .option("--json", "print {transcript, answer, seconds, stats} as JSON")
        .option("--verbose", "show llama.cpp's, libmtmd's and node-llama-cpp's own log lines")
        .action(async (audioPath: string, f: Flags) => {
            setLibraryLogs(f.verbose ? "verbose" : "quiet");
            const log = (line: string) => process.stderr.write(`${line}\n`);
            const encoderCaps = f.mmproj ? await readMmproj(f.mmproj, "audio encoder") : undefined;
            const speech = encoderCaps?.audio ? undefined : await speechModelFromFlags(f, log);
            const engine = await openEngine(
                f,
                {
                    mmproj: f.mmproj,
                    encoderCaps,
                    speech: speech && (async () => speech),
                    onResource: (what, e, m) => {
                        if (what === "speech model" && e === "loaded" && m)
                            log(
                                `speech model ${m.path} | ${m.architecture} | backend ${m.backend} | loaded in ${(m.loadMs / 1000).toFixed(1)} s`,
                            );
                    },
                },
                log,
                { temperature: f.temp },
            );
            try {
                const out = await withInterrupt(async (signal) => {
                    let audio: Extract<MediaReport, { kind: "audio" }> | undefined;
                    const r = await engine.turn(
                        {
                            messages: [
                                {
                                    role: "user",
                                    content: [
                                        { type: "audio", source: { path: audioPath } },
                                        { type: "text", text: f.prompt ?? DEFAULT_QUESTION.audio },
                                    ],
                                },
                            ],
                            maxTokens: f.maxTokens,
                            sampling: { temperature: f.temp, seed: 0 },
                            signal,
                        },
                        (e) => {
                            if (e.type === "media" && e.report.kind === "audio") audio = e.report;
                        },
                    );
                    const t = audio?.transcription;
                    return {
                        transcript: audio?.transcript,
                        answer: r.content,
                        seconds: audio?.seconds,
                        stats: {
                            ...(t
                                ? {
                                      transcript: {
                                          promptTokens: t.promptTokens,
                                          tokens: t.tokens,
                                          ttftMs: t.firstTokenMs,
                                          audioSeconds: audio?.seconds,
                                      },
                                  }
                                : {}),
                            answer: {
                                promptTokens: r.usage.promptTokens - r.usage.cachedTokens,
                                answerTokens: r.usage.completionTokens,
                                ttftMs: r.timings.firstTokenMs,
                            },
                        },
                    };
                });
                // Written once both are done: an interrupted run prints nothing but the interruption.
                const shown = (t: string) => (process.stdout.isTTY ? escapeControls(t) : t);
                if (f.json) process.stdout.write(`${JSON.stringify(out)}\n`);
                else
                    process.stdout.write(
                        `${out.transcript !== undefined ? `transcript: ${shown(out.transcript)}\n` : ""}answer: ${shown(out.answer)}\n`,
                    );
            } finally {
                await engine.dispose();
            }
        });
}
