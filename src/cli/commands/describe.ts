// `autoglm describe <image>`: streams a description of an image, or the answer to --prompt about it;
// with --url a remote engine answers (the image, checked here first, goes as a data: URL).

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
import { checkImageFile } from "../input-checks.js";
import { DEMO_DESCRIBE_TOKENS, demoAnswerNote } from "../demo-limits.js";
import { addRemoteOptions, checkRemoteFlags, LOCAL_MODEL_FLAGS, type RemoteFlags } from "../remote-options.js";

/**
 * describe's own flags are all the request's (--prompt, --think, --temp, --seed, --max-tokens,
 * --json), so with --url only the model's are refused: --mmproj, --image-max-pixels and
 * --max-image-tokens among them (the server scales images under its own limits).
 */
const DESCRIBE_LOCAL_ONLY: string[] = [];

interface DescribeFlags extends ModelFlags, MediaFlags, RemoteFlags {
    prompt: string;
    think?: boolean;
    json?: boolean;
    verbose?: boolean;
    temp: number;
    seed?: number;
    maxTokens?: number;
}

const ENDED: Record<string, string> = { stop: "the end-of-answer token", length: "--max-tokens" };

export function describeCommand(): Command {
    return addRemoteOptions(
        addMediaOptions(
            addModelOptions(
                new Command("describe").description(
                    "describe an image (or answer --prompt about it) with a vision model, here or at --url",
                ),
            ),
            { mmproj: "the vision encoder GGUF (mmproj) that belongs to --model", imageTokens: true, imagePixels: true },
        ),
    )
        .argument("<image>", "image file (JPEG, PNG, WebP, GIF, TIFF...)")
        .option("-p, --prompt <text>", "what to ask about the image", DEFAULT_QUESTION.image)
        .option("--think", "let the model think first (GLM: enable_thinking)")
        .option("--no-think", "answer without thinking")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("--seed <n>", "sampling seed", numberOption("--seed", { integer: true }))
        .option(
            "-n, --max-tokens <n>",
            `longest answer in tokens (default: 1024; ${DEMO_DESCRIBE_TOKENS} with the built-in demo model, whose answers are noise)`,
            numberOption("--max-tokens", { integer: true, positive: true }),
        )
        .option("--json", "print {content, reasoning, image, stats} as JSON (with --url no image: the server scales it)")
        .option("--verbose", "show llama.cpp's, libmtmd's and node-llama-cpp's own log lines")
        .action(async (imagePath: string, f: DescribeFlags, cmd: Command) => {
            checkRemoteFlags(cmd, f, [...LOCAL_MODEL_FLAGS, ...DESCRIBE_LOCAL_ONLY], ["apiKey"]);
            setLibraryLogs(f.verbose ? "verbose" : "quiet");
            const log = (line: string) => process.stderr.write(`${line}\n`);
            await checkImageFile(imagePath, f.imageMaxPixels); // before anything loads or is sent
            const demo = !f.url && !f.model;
            const maxTokens = f.maxTokens ?? (demo ? DEMO_DESCRIBE_TOKENS : 1024);
            // A remote engine that takes no images refuses the turn before the image is read (one line).
            const engine = await openEngine(
                f,
                cmd,
                async () => {
                    const encoder = await encoderFromFlags(f, "vision encoder");
                    if (!encoder.mmproj)
                        throw new UserError(
                            "--mmproj is required with --model: give the vision encoder GGUF that belongs to the model (none is recorded with it in the models folder)",
                        );
                    if (!encoder.encoderCaps?.vision) throw new UserError(`${encoder.mmproj} has no vision encoder`);
                    return { ...encoder, maxImageTokens: f.maxImageTokens, imageMaxPixels: f.imageMaxPixels };
                },
                log,
                { temperature: f.temp },
            );
            if (demo && f.maxTokens === undefined) log(demoAnswerNote(maxTokens));
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
                            maxTokens,
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
