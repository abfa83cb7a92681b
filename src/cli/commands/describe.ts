// `autoglm describe <image>`: streams a description of an image, or the answer to --prompt about it.

import { Command } from "commander";
import { DEFAULT_QUESTION } from "../../engine/media-policy.js";
import type { MediaReport } from "../../engine/turn.js";
import { UserError } from "../../core/errors.js";
import { addMediaOptions, addModelOptions, encoderFromFlags, type MediaFlags, type ModelFlags } from "../model-options.js";
import { openEngine } from "../open-engine.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";
import { escapeControls } from "../terminal-text.js";
import { setLibraryLogs } from "../../engine/library-log.js";

interface DescribeFlags extends ModelFlags, MediaFlags {
    prompt: string;
    think?: boolean;
    json?: boolean;
    verbose?: boolean;
    temp: number;
    seed?: number;
    maxTokens: number;
}

const ENDED: Record<string, string> = { stop: "the end-of-answer token", length: "--max-tokens" };

export function describeCommand(): Command {
    return addMediaOptions(
        addModelOptions(new Command("describe").description("describe an image (or answer --prompt about it) with a vision model")),
        { mmproj: "the vision encoder GGUF (mmproj) that belongs to --model", imageTokens: true, imagePixels: true },
    )
        .argument("<image>", "image file (JPEG, PNG, WebP, GIF, TIFF...)")
        .option("-p, --prompt <text>", "what to ask about the image", DEFAULT_QUESTION.image)
        .option("--think", "let the model think first (GLM: enable_thinking)")
        .option("--no-think", "answer without thinking")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("--seed <n>", "sampling seed", numberOption("--seed", { integer: true }))
        .option("-n, --max-tokens <n>", "longest answer in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 1024)
        .option("--json", "print {content, reasoning, image, stats} as JSON")
        .option("--verbose", "show llama.cpp's, libmtmd's and node-llama-cpp's own log lines")
        .action(async (imagePath: string, f: DescribeFlags) => {
            setLibraryLogs(f.verbose ? "verbose" : "quiet");
            const log = (line: string) => process.stderr.write(`${line}\n`);
            if (f.model && !f.mmproj)
                throw new UserError("--mmproj is required with --model: give the vision encoder GGUF that belongs to the model");
            const encoder = await encoderFromFlags(f, "vision encoder");
            if (!encoder.encoderCaps?.vision) throw new UserError(`${encoder.mmproj} has no vision encoder`);
            const engine = await openEngine(f, { ...encoder, maxImageTokens: f.maxImageTokens, imageMaxPixels: f.imageMaxPixels }, log, {
                temperature: f.temp,
            });
            // On a terminal the answer streams (control bytes escaped); into a pipe or file it is
            // written whole at the end, so an interrupted run leaves nothing half-written there.
            const stream = Boolean(process.stdout.isTTY) && !f.json;
            let streamed = "";
            let image: Extract<MediaReport, { kind: "image" }> | undefined;
            try {
                const r = await withInterrupt((signal) =>
                    engine.turn(
                        {
                            messages: [
                                {
                                    role: "user",
                                    content: [
                                        { type: "image", source: { path: imagePath } },
                                        { type: "text", text: f.prompt },
                                    ],
                                },
                            ],
                            maxTokens: f.maxTokens,
                            sampling: { temperature: f.temp, seed: f.seed ?? 0 },
                            enableThinking: f.think,
                            signal,
                        },
                        (e) => {
                            if (e.type === "media" && e.report.kind === "image") {
                                image = e.report;
                                const { width, height, tokens, source } = image;
                                if (width !== source.width || height !== source.height)
                                    log(
                                        `image scaled from ${source.width}x${source.height} (${source.tokens} image tokens) to ${width}x${height} (${tokens} image tokens) to fit --image-max-pixels ${f.imageMaxPixels}${f.maxImageTokens ? ` / --max-image-tokens ${f.maxImageTokens}` : ""}`,
                                    );
                            } else if (e.type === "text" && stream && e.text) {
                                streamed += e.text;
                                process.stdout.write(escapeControls(e.text));
                            }
                        },
                    ),
                );
                if (f.json) {
                    process.stdout.write(
                        `${JSON.stringify({
                            content: r.content,
                            reasoning: r.reasoning,
                            // What the model saw: the evaluated size and its image tokens; source: the file's own size.
                            image: image && {
                                width: image.width,
                                height: image.height,
                                format: image.format,
                                tokens: image.tokens,
                                source: { width: image.source.width, height: image.source.height },
                            },
                            stats: {
                                promptTokens: r.usage.promptTokens - r.usage.cachedTokens,
                                answerTokens: r.usage.completionTokens,
                                ttftMs: r.timings.firstTokenMs,
                                decodeMs: r.timings.decodeMs,
                                reason: r.finish,
                            },
                        })}\n`,
                    );
                } else if (r.content.trim()) {
                    process.stdout.write(stream ? "\n" : `${r.content}\n`);
                } else {
                    // The demo model's answers can be all special tokens, which detokenize to nothing.
                    if (streamed) process.stdout.write("\n");
                    const n = r.usage.completionTokens;
                    log(
                        `(the answer is empty: ${n} token${n === 1 ? "" : "s"}, ${r.reasoning.trim() ? "all of it thinking" : "none of them text"}; it ended at ${ENDED[r.finish] ?? r.finish})`,
                    );
                }
            } catch (e) {
                if (streamed && !streamed.endsWith("\n")) process.stdout.write("\n"); // the error line starts on a line of its own
                throw e;
            } finally {
                await engine.dispose();
            }
        });
}
