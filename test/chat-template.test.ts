// The chat template on its own (no model): GLM's layout with media as libmtmd markers and thinking
// on or off, and a hostile template stopped by its budget with one line, at the same place each time.
import { describe, expect, it } from "vitest";
import { GLM4V_CHAT_TEMPLATE } from "../models/synthetic/tokenizer-files.js";
import { UserError } from "../src/core/errors.js";
import { ChatTemplate, RENDER_LIMITS } from "../src/engine/chat-template.js";
import { countMarkers, MEDIA_MARKER, mediaPromptText } from "../src/engine/media-prompt.js";

describe("the chat template", () => {
    it("renders GLM's turns with each image as libmtmd's marker where it was, and the empty think block when thinking is off", () => {
        const t = new ChatTemplate(GLM4V_CHAT_TEMPLATE);
        const messages = [
            { role: "system" as const, content: "Be brief." },
            {
                role: "user" as const,
                content: [{ type: "text" as const, text: "Look: " }, { type: "image" as const }, { type: "text" as const, text: " what?" }],
            },
            { role: "assistant" as const, content: "A cat." },
            { role: "user" as const, content: "Sure?" },
        ];
        const text = mediaPromptText(t, messages, { enableThinking: false });
        expect(text).toBe(
            `[gMASK]<sop><|system|>\nBe brief.<|user|>\nLook: ${MEDIA_MARKER} what?<|assistant|>\nA cat.<|user|>\nSure?<|assistant|>\n<think></think>\n`,
        );
        expect(countMarkers(text)).toBe(1);
        expect(mediaPromptText(t, messages, {})).not.toContain("<think>");
    });

    it("a huge range(), a template that raises and one that does not parse are one-line UserErrors", () => {
        const render = (source: string) => () =>
            new ChatTemplate(source).render([{ role: "user", content: "hi" }], { addGenerationPrompt: true });
        expect(render("{% for i in range(100000000) %}{% endfor %}")).toThrow(/stopped: it asked for range\(\) of 100000000 items/);
        expect(RENDER_LIMITS.rangeItems).toBeLessThan(100000000);
        expect(render("{{ raise_exception('hostile\\nsecond line') }}")).toThrow(/^the model's chat template failed: hostile$/);
        expect(() => new ChatTemplate("{% for %}")).toThrow(UserError);
        expect(() => new ChatTemplate("{% for %}")).toThrow(/^the model's chat template does not parse: /);
    });
});
