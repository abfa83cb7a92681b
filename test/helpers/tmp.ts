import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `autoglm-${prefix}-`));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return dir;
}
