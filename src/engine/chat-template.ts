// Renders the GGUF's own Jinja chat template (tokenizer.chat_template) with @huggingface/jinja,
// the same renderer node-llama-cpp uses, into the prompt text.

import { Template } from "@huggingface/jinja";
import { UserError } from "../core/errors.js";

import type { MediaItem } from "./native.js";

/** An image or audio part; `item` holds its pixels or samples (a template sees only the marker). */
export interface MediaPart { type: "image" | "audio"; item?: MediaItem }
export type ContentPart = { type: "text"; text: string } | MediaPart;
export interface ChatMessage { role: "system" | "user" | "assistant" | "observation"; content: string | ContentPart[] }

export class ChatTemplate {
    private readonly template: Template;

    constructor(source: string) {
        try {
            this.template = new Template(source);
        } catch (e) {
            throw new UserError(`the model's chat template does not parse: ${(e as Error).message}`);
        }
    }

    render(messages: ChatMessage[], opts: { addGenerationPrompt: boolean; enableThinking?: boolean }): string {
        return this.template.render({
            messages,
            add_generation_prompt: opts.addGenerationPrompt,
            ...(opts.enableThinking === undefined ? {} : { enable_thinking: opts.enableThinking }),
            bos_token: "", eos_token: "",
        });
    }
}
