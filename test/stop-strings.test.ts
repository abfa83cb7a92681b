// Stop strings over streamed text, whatever the chunking.
import { describe, expect, it } from "vitest";
import { StopStringFilter } from "../src/engine/stop-strings.js";

function run(chunks: string[], stops: string[]) {
    const f = new StopStringFilter(stops);
    const out = chunks.map((c) => f.push(c)).join("") + f.flush();
    return { out, stopped: f.stopped };
}

describe("StopStringFilter", () => {
    const text = "Tap the icon. Observation: done. More text";
    it("cuts before the first stop string, for every chunk size", () => {
        for (let size = 1; size <= 9; size++) {
            const chunks = text.match(new RegExp(`[\\s\\S]{1,${size}}`, "g"))!;
            expect(run(chunks, ["Observation:", "More"])).toEqual({ out: "Tap the icon. ", stopped: true });
        }
    });
    it("passes everything through when no stop string appears, holding back nothing at the end", () => {
        expect(run(["Tap the ic", "on. Obs"], ["Observation:"])).toEqual({ out: "Tap the icon. Obs", stopped: false });
        expect(run(["abc"], [])).toEqual({ out: "abc", stopped: false });
    });
});
