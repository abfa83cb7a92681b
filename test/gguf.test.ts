// GGUF writer and reader: every value type, alignment, offsets, and rejection of broken files.
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GgmlType, ValueType } from "../src/core/gguf/constants.js";
import { Metadata } from "../src/core/gguf/metadata.js";
import { readGguf } from "../src/core/gguf/reader.js";
import { GgufWriter } from "../convert/gguf/writer.js";
import { tempDir } from "./helpers/tmp.js";

async function writeSample(path: string) {
    const meta = new Metadata()
        .str("general.architecture", "test")
        .set("u8", { type: ValueType.UINT8, value: 200 })
        .set("i8", { type: ValueType.INT8, value: -5 })
        .set("u16", { type: ValueType.UINT16, value: 60000 })
        .set("i16", { type: ValueType.INT16, value: -30000 })
        .u32("u32", 4000000000)
        .i32("i32", -2000000000)
        .f32("f32", 0.5)
        .bool("bool", true)
        .set("u64", { type: ValueType.UINT64, value: 2n ** 40n })
        .set("i64", { type: ValueType.INT64, value: -(2n ** 40n) })
        .set("f64", { type: ValueType.FLOAT64, value: Math.PI })
        .str("unicode", "héllo 世界")
        .array("strings", ValueType.STRING, ["a", "", "Ġthe"])
        .array("ints", ValueType.INT32, [1, -2, 3]);
    const tensors = [
        { name: "a", shape: [3], type: GgmlType.F32 },
        { name: "b", shape: [32, 2], type: GgmlType.Q8_0 },
        { name: "c", shape: [5, 1], type: GgmlType.F16 },
    ];
    const w = new GgufWriter(path, meta, tensors);
    await w.open();
    await w.writeTensorData(new Uint8Array(12).fill(1));
    await w.writeTensorData(new Uint8Array(68).fill(2));
    await w.writeTensorData(new Uint8Array(10).fill(3));
    await w.finish();
    await w.commit(); // the file keeps its .partial name until committed
}

describe("GGUF", () => {
    const dir = tempDir("gguf");

    it("round-trips every metadata type and places tensors at aligned offsets", async () => {
        const path = join(dir, "sample.gguf");
        await writeSample(path);
        const g = await readGguf(path);
        expect(g.version).toBe(3);
        const m = g.metadata;
        expect([m.value("u8"), m.value("i8"), m.value("u16"), m.value("i16"), m.value("u32"), m.value("i32")]).toEqual([
            200, -5, 60000, -30000, 4000000000, -2000000000,
        ]);
        expect(m.value("f32")).toBe(0.5);
        expect(m.value("bool")).toBe(true);
        expect(m.value("u64")).toBe(2n ** 40n);
        expect(m.value("i64")).toBe(-(2n ** 40n));
        expect(m.value("f64")).toBe(Math.PI);
        expect(m.value("unicode")).toBe("héllo 世界");
        expect(m.value("strings")).toEqual(["a", "", "Ġthe"]);
        expect(m.get("ints")).toMatchObject({ type: ValueType.ARRAY, itemType: ValueType.INT32, values: [1, -2, 3] });
        expect(g.tensors.map((t) => [t.name, t.bytes])).toEqual([
            ["a", 12],
            ["b", 68],
            ["c", 10],
        ]);
        const bytes = readFileSync(path);
        for (const [i, t] of g.tensors.entries()) {
            expect((t.offset - g.dataOffset) % 32).toBe(0);
            expect(bytes[t.offset]).toBe(i + 1);
        }
        expect(bytes.length % 32).toBe(0);
    });

    it("rejects a truncated file, a bad magic and garbage with a clear message", async () => {
        const path = join(dir, "sample.gguf");
        await writeSample(path);
        const cut = join(dir, "cut.gguf");
        writeFileSync(cut, readFileSync(path).subarray(0, 200));
        await expect(readGguf(cut)).rejects.toThrow(/truncated/);
        const cutData = join(dir, "cutdata.gguf");
        writeFileSync(cutData, readFileSync(path));
        truncateSync(cutData, readFileSync(path).length - 40);
        await expect(readGguf(cutData)).rejects.toThrow(/truncated/);
        const bad = join(dir, "bad.gguf");
        writeFileSync(bad, "this is not a model file at all");
        await expect(readGguf(bad)).rejects.toThrow(/not a GGUF file/);
    });

    it("refuses tensor data that does not match the declared table", async () => {
        const w = new GgufWriter(join(dir, "x.gguf"), new Metadata(), [{ name: "t", shape: [4], type: GgmlType.F32 }]);
        await w.open();
        await expect(w.writeTensorData(new Uint8Array(20))).rejects.toThrow(/expected 16/);
        await expect(w.finish()).rejects.toThrow(/only 0 of 1/);
        await w.abort();
    });
});
