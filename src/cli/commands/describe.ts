// `autoglm describe <image>`: streams a description of an image, or the answer to --prompt about it.

import { Command } from "commander";
import { DEFAULT_QUESTION } from "../../engine/media-policy.js";
import { UserError } from "../../core/errors.js";
import { addModelOptions, encoderFromFlags, openRuntime, type ModelFlags } from "../model-options.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";

interface DescribeFlags extends ModelFlags {
    mmproj?: string; prompt: string; maxImageTokens?: number; imageMaxPixels: number; think?: boolean; json?: boolean; temp: number; seed?: number; maxTokens: number;
}

export function describeCommand(): Command {
    return addModelOptions(new Command("describe").description("describe an image (or answer --prompt about it) with a vision model"))
        .argument("<image>", "image file (JPEG, PNG, WebP, GIF, TIFF...)")
        .option("--mmproj <file>", "the vision encoder GGUF (mmproj) that belongs to --model")
        .option("-p, --prompt <text>", "what to ask about the image", DEFAULT_QUESTION.image)
        .option("--max-image-tokens <n>", "scale the image down to at most this many image tokens", numberOption("--max-image-tokens", { integer: true, positive: true }))
        .option("--image-max-pixels <n>", "scale larger images down to this many pixels as vLLM's GLM-4.1V processor does (Open-AutoGLM: 5000000)", numberOption("--image-max-pixels", { integer: true, positive: true }), 5_000_000)
        .option("--think", "let the model think first (GLM: enable_thinking)")
        .option("--no-think", "answer without thinking")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("--seed <n>", "sampling seed", numberOption("--seed", { integer: true }))
        .option("-n, --max-tokens <n>", "longest answer in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 1024)
        .option("--json", "print {content, reasoning, image, stats} as JSON")
        .action(async (imagePath: string, f: DescribeFlags) => {
            const log = (line: string) => process.stderr.write(`${line}\n`);
            if (f.model && !f.mmproj) throw new UserError("--mmproj is required with --model: give the vision encoder GGUF that belongs to the model");
            const encoder = await encoderFromFlags(f, "vision encoder");
            if (!encoder.encoderCaps?.vision) throw new UserError(`${encoder.mmproj} has no vision encoder`);
            const runtime = await openRuntime(f, { ...encoder, maxImageTokens: f.maxImageTokens, imageMaxPixels: f.imageMaxPixels }, log, { temperature: f.temp });
            try {
                const image = await runtime.media.image(imagePath);
                if (image.scaledFrom) log(`image scaled from ${image.scaledFrom.width}x${image.scaledFrom.height} (${image.scaledFrom.tokens} image tokens) to ${image.image.width}x${image.image.height} (${image.tokens}) to fit --image-max-pixels ${f.imageMaxPixels}${f.maxImageTokens ? ` / --max-image-tokens ${f.maxImageTokens}` : ""}`);
                const r = await withInterrupt((signal) => runtime.oneShot({ text: f.prompt, media: [image.part] }, {
                    maxTokens: f.maxTokens, sampling: runtime.sampling({ temperature: f.temp, seed: f.seed ?? 0 }), enableThinking: f.think, signal,
                    onPiece: (p) => { if (p.kind === "content" && !f.json) process.stdout.write(p.text); },
                }));
                if (f.json) {
                    process.stdout.write(`${JSON.stringify({
                        content: r.content, reasoning: r.reasoning,
                        image: { width: image.image.width, height: image.image.height, format: image.image.format, tokens: image.tokens, source: { width: image.image.sourceWidth, height: image.image.sourceHeight } },
                        stats: { promptTokens: r.stats.promptTokens, answerTokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs, decodeMs: r.stats.decodeMs, reason: r.stats.reason },
                    })}\n`);
                } else {
                    process.stdout.write("\n");
                }
            } finally {
                await runtime.dispose();
            }
        });
}
