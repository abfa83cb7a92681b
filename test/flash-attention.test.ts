// What --flash-attn auto means per backend and device (docs/vulkan-lavapipe-crash.md): off on Mesa's
// lavapipe only, whose device names come from node-llama-cpp as the Vulkan driver reports them.
import { describe, expect, it } from "vitest";
import { flashAttentionFor } from "../src/engine/context.js";

const LAVAPIPE = "llvmpipe (LLVM 15.0.6, 256 bits)";

describe("flashAttentionFor", () => {
    it("auto is off on lavapipe, whichever of the devices it is", () => {
        expect(flashAttentionFor("vulkan", "auto", [LAVAPIPE])).toBe("off");
        expect(flashAttentionFor("vulkan", "auto", ["AMD Radeon RX 7900 XTX (RADV NAVI31)", LAVAPIPE])).toBe("off");
    });
    it("auto stays llama.cpp's own on other Vulkan devices and other backends", () => {
        expect(flashAttentionFor("vulkan", "auto", ["NVIDIA GeForce RTX 4090"])).toBe("auto");
        expect(flashAttentionFor("vulkan", "auto", [])).toBe("auto");
        expect(flashAttentionFor("cuda", "auto", ["NVIDIA H100 80GB HBM3"])).toBe("auto");
        expect(flashAttentionFor("cpu", "auto", [])).toBe("auto");
    });
    it("on and off are kept as asked, lavapipe included", () => {
        expect(flashAttentionFor("vulkan", "on", [LAVAPIPE])).toBe("on");
        expect(flashAttentionFor("vulkan", "off", ["NVIDIA GeForce RTX 4090"])).toBe("off");
    });
});
