// `autoglm describe <image>`: streams a description of an image, or the answer to --prompt about it.

import { Command } from "commander";
import { answerWithMedia, openEncoder, readMmproj } from "../../engine/media-answer.js";
import type { NativeMedia } from "../../engine/native.js";
import { decodeImage, glmImageTokens } from "../../media/image.js";
import { defaultModel } from "../../../models/default-model.js";
import { UserError } from "../../core/errors.js";
import { addModelOptions, loadFromFlags, settingsFrom, type ModelFlags } from "../model-options.js";
import { numberOption } from "../parse.js";
import { withInterrupt } from "../interrupt.js";

interface DescribeFlags extends ModelFlags {
    mmproj?: string; prompt: string; maxImageTokens?: number; think?: boolean; json?: boolean; temp: number; seed?: number; maxTokens: number;
}

export function describeCommand(): Command {
    return addModelOptions(new Command("describe").description("describe an image (or answer --prompt about it) with a vision model"))
        .argument("<image>", "image file (JPEG, PNG, WebP, GIF, TIFF...)")
        .option("--mmproj <file>", "the vision encoder GGUF (mmproj) that belongs to --model")
        .option("-p, --prompt <text>", "what to ask about the image", "Describe this image.")
        .option("--max-image-tokens <n>", "scale the image down to at most this many image tokens", numberOption("--max-image-tokens", { integer: true, positive: true }))
        .option("--think", "let the model think first (GLM: enable_thinking)")
        .option("--no-think", "answer without thinking")
        .option("--temp <t>", "temperature (0: greedy)", numberOption("--temp"), 0)
        .option("--seed <n>", "sampling seed", numberOption("--seed", { integer: true }))
        .option("-n, --max-tokens <n>", "longest answer in tokens", numberOption("--max-tokens", { integer: true, positive: true }), 1024)
        .option("--json", "print {content, reasoning, image, stats} as JSON")
        .action(async (imagePath: string, f: DescribeFlags) => {
            const log = (line: string) => process.stderr.write(`${line}\n`);
            let mmproj = f.mmproj;
            if (!f.model) {
                const demo = await defaultModel();
                mmproj ??= demo.vision;
            } else if (!mmproj) {
                throw new UserError("--mmproj is required with --model: give the vision encoder GGUF that belongs to the model");
            }
            await readMmproj(mmproj!, "vision encoder");
            const image = await decodeImage(imagePath, { maxTokens: f.maxImageTokens });
            const settings = settingsFrom(f);
            const loaded = await loadFromFlags(f, log);
            let encoder: NativeMedia | undefined;
            try {
                encoder = openEncoder(loaded, mmproj!, settings, "vision", f.maxImageTokens);
                const turn = { text: f.prompt, media: [{ kind: "image" as const, item: { width: image.width, height: image.height, rgb: image.data } }] };
                const r = await withInterrupt((signal) => answerWithMedia(loaded, settings, encoder!, turn, {
                    maxTokens: f.maxTokens, sampling: { temperature: f.temp, seed: f.seed ?? 0 }, enableThinking: f.think, signal,
                    onPiece: (p) => { if (p.kind === "content" && !f.json) process.stdout.write(p.text); },
                }));
                if (f.json) {
                    process.stdout.write(`${JSON.stringify({
                        content: r.content, reasoning: r.reasoning,
                        image: { width: image.width, height: image.height, format: image.format, glmTokens: glmImageTokens(image.width, image.height) },
                        stats: { promptTokens: r.stats.promptTokens, answerTokens: r.stats.tokens.length, ttftMs: r.stats.ttftMs, decodeMs: r.stats.decodeMs, reason: r.stats.reason },
                    })}\n`);
                } else {
                    process.stdout.write("\n");
                }
            } finally {
                encoder?.dispose();
                await loaded.dispose();
            }
        });
}
