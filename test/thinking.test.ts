// Splitting reasoning from the answer while text streams in arbitrary pieces.
import { describe, expect, it } from "vitest";
import { ThinkingSplitter, type Piece } from "../src/engine/thinking.js";

function split(chunks: string[]): { reasoning: string; content: string } {
    const s = new ThinkingSplitter();
    const pieces: Piece[] = [...chunks.flatMap((c) => s.push(c)), ...s.flush()];
    return {
        reasoning: pieces
            .filter((p) => p.kind === "reasoning")
            .map((p) => p.text)
            .join(""),
        content: pieces
            .filter((p) => p.kind === "content")
            .map((p) => p.text)
            .join(""),
    };
}

describe("ThinkingSplitter", () => {
    const text = '<think>The icon is top left.</think><answer>do(action="Tap", element=[120, 90])</answer>';
    it("separates <think> from the answer and drops the <answer> tags", () => {
        expect(split([text])).toEqual({ reasoning: "The icon is top left.", content: 'do(action="Tap", element=[120, 90])' });
    });
    it("gives the same result whatever the chunking, tags split across chunks included", () => {
        for (let size = 1; size <= 7; size++) {
            const chunks = text.match(new RegExp(`[\\s\\S]{1,${size}}`, "g"))!;
            expect(split(chunks)).toEqual(split([text]));
        }
    });
    it("keeps a lone < and text without tags as content", () => {
        expect(split(["a < b", " and <c>"])).toEqual({ reasoning: "", content: "a < b and <c>" });
        expect(split(["2 <", "3"])).toEqual({ reasoning: "", content: "2 <3" });
    });
    it("an answer cut inside its thinking is all reasoning", () => {
        expect(split(["<think>still thin", "king"])).toEqual({ reasoning: "still thinking", content: "" });
    });
});
