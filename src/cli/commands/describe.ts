// `autoglm describe <image>`: streams a description of an image, or the answer to --prompt about it.

import { Command } from "commander";
import { DEFAULT_QUESTION } from "../../engine/media-policy.js";
import { UserError } from "../../core/errors.js";
import { addModelOptions, encoderFromFlags, openRuntime, type ModelFlags } from "../model-options.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";
import { escapeControls } from "../terminal-text.js";
import { setLibraryLogs } from "../../engine/library-log.js";
import { checkImageFile } from "../input-checks.js";
import { DEMO_DESCRIBE_TOKENS, demoAnswerNote } from "../demo-limits.js";

interface DescribeFlags extends ModelFlags {
    mmproj?: string;
    prompt: string;
    maxImageTokens?: number;
    imageMaxPixels: number;
    think?: boolean;
    json?: boolean;
    verbose?: boolean;
    temp: number;
    seed?: number;
    maxTokens?: number;
}

const ENDED: Record<string, string> = { eog: "the end-of-answer token", length: "--max-tokens", stop: "a stop string" };

export function describeCommand(): Command {
    return addModelOptions(new Command("describe").description("describe an image (or answer --prompt about it) with a vision model"))
        .argument("<image>", "image file (JPEG, PNG, WebP, GIF, TIFF...)")
        .option("--mmproj <file>", "the vision encoder GGUF (mmproj) that belongs to --model")
        .option("-p, --prompt <text>", "what to ask about the image", DEFAULT_QUESTION.image)
        .option(
            "--max-image-tokens <n>",
            "scale the image down to at most this many image tokens",
            numberOption("--max-image-tokens", { integer: true, positive: true }),
        )
        .option(
            "--image-max-pixels <n>",
            "scale larger images down to this many pixels as vLLM's GLM-4.1V processor does (Open-AutoGLM: 5000000)",
            numberOption("--image-max-pixels", { integer: true, positive: true }),
            5_000_000,
        )
        .option("--think", "let the model think first (GLM: enable_thinking)")
        .option("--no-think", "answer without thinking")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("--seed <n>", "sampling seed", numberOption("--seed", { integer: true }))
        .option(
            "-n, --max-tokens <n>",
            `longest answer in tokens (default: 1024; ${DEMO_DESCRIBE_TOKENS} with the built-in demo model, whose answers are noise)`,
            numberOption("--max-tokens", { integer: true, positive: true }),
        )
        .option("--json", "print {content, reasoning, image, stats} as JSON")
        .option("--verbose", "show llama.cpp's, libmtmd's and node-llama-cpp's own log lines")
        .action(async (imagePath: string, f: DescribeFlags) => {
            setLibraryLogs(f.verbose ? "verbose" : "quiet");
            const log = (line: string) => process.stderr.write(`${line}\n`);
            await checkImageFile(imagePath, f.imageMaxPixels); // before anything loads
            const encoder = await encoderFromFlags(f, "vision encoder");
            if (!encoder.mmproj)
                throw new UserError(
                    "--mmproj is required with --model: give the vision encoder GGUF that belongs to the model (none is recorded with it in the models folder)",
                );
            const maxTokens = f.maxTokens ?? (f.model ? 1024 : DEMO_DESCRIBE_TOKENS);
            if (!encoder.encoderCaps?.vision) throw new UserError(`${encoder.mmproj} has no vision encoder`);
            const runtime = await openRuntime(f, { ...encoder, maxImageTokens: f.maxImageTokens, imageMaxPixels: f.imageMaxPixels }, log, {
                temperature: f.temp,
            });
            if (!f.model && f.maxTokens === undefined) log(demoAnswerNote(maxTokens));
            // On a terminal the answer streams (control bytes escaped); into a pipe or file it is
            // written whole at the end, so an interrupted run leaves nothing half-written there.
            const stream = Boolean(process.stdout.isTTY) && !f.json;
            let streamed = "";
            try {
                const image = await runtime.media.image(imagePath);
                const { width, height, sourceWidth, sourceHeight } = image.image;
                if (image.scaledFrom)
                    log(
                        `image scaled from ${sourceWidth}x${sourceHeight} (${image.scaledFrom.tokens} image tokens) to ${width}x${height} (${image.tokens} image tokens) to fit --image-max-pixels ${f.imageMaxPixels}${f.maxImageTokens ? ` / --max-image-tokens ${f.maxImageTokens}` : ""}`,
                    );
                const r = await withInterrupt((signal) =>
                    runtime.oneShot(
                        { text: f.prompt, media: [image.part] },
                        {
                            maxTokens,
                            sampling: runtime.sampling({ temperature: f.temp, seed: f.seed ?? 0 }),
                            enableThinking: f.think,
                            signal,
                            onPiece: (p) => {
                                if (p.kind === "content" && stream && p.text) {
                                    streamed += p.text;
                                    process.stdout.write(escapeControls(p.text));
                                }
                            },
                        },
                    ),
                );
                if (f.json) {
                    process.stdout.write(
                        `${JSON.stringify({
                            content: r.content,
                            reasoning: r.reasoning,
                            // What the model saw: the evaluated size and its image tokens; source: the file's own size.
                            image: {
                                width,
                                height,
                                format: image.image.format,
                                tokens: image.tokens,
                                source: { width: sourceWidth, height: sourceHeight },
                            },
                            stats: {
                                promptTokens: r.stats.promptTokens,
                                answerTokens: r.stats.tokens.length,
                                ttftMs: r.stats.ttftMs,
                                decodeMs: r.stats.decodeMs,
                                reason: r.stats.reason,
                            },
                        })}\n`,
                    );
                } else if (r.content.trim()) {
                    process.stdout.write(stream ? "\n" : `${r.content}\n`);
                } else {
                    // The demo model's answers can be all special tokens, which detokenize to nothing.
                    if (streamed) process.stdout.write("\n");
                    const n = r.stats.tokens.length;
                    log(
                        `(the answer is empty: ${n} token${n === 1 ? "" : "s"}, ${r.reasoning.trim() ? "all of it thinking" : "none of them text"}; it ended at ${ENDED[r.stats.reason] ?? r.stats.reason})`,
                    );
                }
            } catch (e) {
                if (streamed && !streamed.endsWith("\n")) process.stdout.write("\n"); // the error line starts on a line of its own
                throw e;
            } finally {
                await runtime.dispose();
            }
        });
}
