// Where autoglm's own files are (package.json, native/build, scripts/), found the same way whether
// this module runs compiled (dist/src/core/) or as TypeScript source (src/core/, under vitest).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (;;) {
        const manifest = join(dir, "package.json");
        if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "autoglm") return dir;
        const up = dirname(dir);
        if (up === dir) throw new Error(`autoglm's package.json not found above ${fileURLToPath(import.meta.url)}`);
        dir = up;
    }
}

/** The folder holding autoglm's package.json. */
export const PACKAGE_ROOT = findRoot();

/** A path inside the package: fromRoot("native", "build"). */
export const fromRoot = (...parts: string[]): string => join(PACKAGE_ROOT, ...parts);
