// gguf-py's numpy quantizers (gguf-py/gguf/quants.py in the bundled llama.cpp source): the reference
// convert_hf_to_gguf.py itself uses. Available when python3 has numpy.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { llamaToolsDir } from "./llama-tools.js";
import { tempDir } from "./tmp.js";

export function ggufPyAvailable(): boolean {
    return spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" }).status === 0;
}

const SCRIPT = `
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from gguf.quants import quantize
from gguf.constants import GGMLQuantizationType as T
x = np.fromfile(sys.argv[3], dtype=np.float32).reshape(-1, int(sys.argv[4]))
t = {"q4_0": T.Q4_0, "q8_0": T.Q8_0, "bf16": T.BF16, "f16": T.F16}[sys.argv[2]]
quantize(x, t).tofile(sys.argv[5])
`;

export function ggufPyQuantize(type: "q4_0" | "q8_0" | "bf16" | "f16", src: Float32Array, rowLength: number): Uint8Array {
    const dir = tempDir("ggufpy");
    const ggufPy = join(llamaToolsDir(), "..", "..", "src", "gguf-py");
    writeFileSync(join(dir, "in.f32"), src);
    execFileSync("python3", ["-c", SCRIPT, ggufPy, type, join(dir, "in.f32"), String(rowLength), join(dir, "out.bin")]);
    return readFileSync(join(dir, "out.bin"));
}
