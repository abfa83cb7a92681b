// Progress reporting through the compiled library, with real worker threads (buffers are
// transferred to workers, which once made the byte count stall).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convertModel } from "../convert/convert-model.js";
import { synthesize } from "./helpers/models.js";
import { tempDir } from "./helpers/tmp.js";

describe("convert progress", () => {
    it("counts every source byte once, monotonically, ending at the total", async () => {
        const root = tempDir("progress");
        const dir = await synthesize(join(root, "glm4v"), "glm4v");
        const seen: [number, number][] = [];
        await convertModel({
            dir,
            outDir: join(root, "out"),
            types: { text: "q4_0", mmproj: 1 },
            threads: 2,
            onBytes: (d: number, t: number) => seen.push([d, t]),
        });
        const total = seen[0][1];
        expect(total).toBeGreaterThan(1_000_000);
        for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);
        expect(seen[seen.length - 1][0]).toBe(total);
    });
});
