// `autoglm transcribe-and-answer <audio.wav>`: a speech model (GLM-ASR, converted by autoglm)
// transcribes, then the chat model answers; when the chat model has an audio mmproj of its own,
// that one model hears and answers. Both routes are one turn: the runtime's media policy decides.
// The input file is checked before anything loads; what the command waits for is one line on stderr.
// With --url the recording goes to a remote engine as input_audio (no speech model loads here); an
// engine that says it takes no audio is one line naming what to do instead.

import { Command } from "commander";
import { readMmproj } from "../../engine/encoders.js";
import { DEFAULT_QUESTION } from "../../engine/media-policy.js";
import type { MediaReport } from "../../engine/turn.js";
import { addMediaOptions, addModelOptions, givenMmproj, speechModelFromFlags, type MediaFlags, type ModelFlags } from "../model-options.js";
import { checkWavFile } from "../input-checks.js";
import { openEngine } from "../open-engine.js";
import { PhaseLine } from "../progress.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";
import { escapeControls } from "../terminal-text.js";
import { setLibraryLogs } from "../../engine/library-log.js";
import { addRemoteOptions, checkRemoteFlags, LOCAL_MODEL_FLAGS, type RemoteFlags } from "../remote-options.js";

/**
 * The command's own flags are all the request's (--prompt, --temp, --max-tokens, --json); the
 * speech model's (--asr-model, --asr-mmproj) and --mmproj are among the model's, refused with --url:
 * the server hears the recording with its own audio encoder or speech model.
 */
const TRANSCRIBE_LOCAL_ONLY: string[] = [];

interface Flags extends ModelFlags, MediaFlags, RemoteFlags {
    prompt?: string;
    json?: boolean;
    temp: number;
    maxTokens: number;
    verbose?: boolean;
}

export function transcribeCommand(): Command {
    return addRemoteOptions(
        addMediaOptions(
            addModelOptions(
                new Command("transcribe-and-answer").description(
                    "transcribe a WAV recording with a speech model, then answer it with the chat model (with --url: a remote engine that takes audio)",
                ),
            ),
            { mmproj: "an audio mmproj of the chat model itself: then one model hears and answers", speech: true },
        ),
    )
        .argument("<audio>", "WAV file (8/16/24/32-bit PCM or float, any rate, mono or stereo)")
        .option("-p, --prompt <text>", "a question about the recording, as describe's --prompt (default: answer what was said)")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("-n, --max-tokens <n>", "longest answer, in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 512)
        .option("--json", "print {transcript, answer, seconds, stats} as JSON")
        .option("--verbose", "show llama.cpp's, libmtmd's and node-llama-cpp's own log lines")
        .action(async (audioPath: string, f: Flags, cmd: Command) => {
            checkRemoteFlags(cmd, f, [...LOCAL_MODEL_FLAGS, ...TRANSCRIBE_LOCAL_ONLY], ["apiKey"]);
            setLibraryLogs(f.verbose ? "verbose" : "quiet");
            const log = (line: string) => process.stderr.write(`${line}\n`);
            const seconds = await checkWavFile(audioPath); // before anything loads or is sent
            let speech: { model: string; mmproj: string } | undefined;
            // What the command waits for, on stderr (a line rewritten in place on a terminal).
            const phase = new PhaseLine();
            let phaseText = "";
            const say = (text: string) => {
                phaseText = text;
                phase.update(text);
            };
            const engine = await openEngine(
                f,
                cmd,
                async () => {
                    const mmproj = givenMmproj(f);
                    const encoderCaps = mmproj ? await readMmproj(mmproj, "audio encoder") : undefined;
                    speech = encoderCaps?.audio ? undefined : await speechModelFromFlags(f, log);
                    const loaded = speech;
                    return {
                        mmproj,
                        encoderCaps,
                        speech: loaded && (async () => loaded),
                        onResource: (what, e, m) => {
                            if (what === "speech model" && e === "loaded" && m) {
                                phase.done();
                                log(
                                    `speech model ${m.path} | ${m.architecture} | backend ${m.backend} | loaded in ${(m.loadMs / 1000).toFixed(1)} s`,
                                );
                                if (phaseText) say(`transcribing ${seconds.toFixed(1)} s of audio with the speech model...`);
                            }
                        },
                    };
                },
                log,
                { temperature: f.temp },
            );
            try {
                // A remote engine that says it takes no audio: its one line, before anything is sent or said.
                engine.checkMedia?.(["audio"]);
                const out = await withInterrupt(async (signal) => {
                    say(
                        f.url
                            ? `sending ${seconds.toFixed(1)} s of audio to ${engine.info.where}...`
                            : speech
                              ? `loading the speech model, then transcribing ${seconds.toFixed(1)} s of audio...`
                              : `hearing ${seconds.toFixed(1)} s of audio with the model's audio encoder...`,
                    );
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
                            if (e.type === "media" && e.report.kind === "audio") {
                                audio = e.report;
                                say(audio.transcript !== undefined ? "answering the transcript..." : "answering...");
                            }
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
                phase.done();
                // Written once both are done: an interrupted run prints nothing but the interruption.
                const shown = (t: string) => (process.stdout.isTTY ? escapeControls(t) : t);
                if (f.json) process.stdout.write(`${JSON.stringify(out)}\n`);
                else
                    process.stdout.write(
                        `${out.transcript !== undefined ? `transcript: ${shown(out.transcript)}\n` : ""}answer: ${shown(out.answer)}\n`,
                    );
            } finally {
                phase.done();
                await engine.dispose();
            }
        });
}
