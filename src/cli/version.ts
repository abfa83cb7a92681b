import { readFileSync } from "node:fs";
import { fromRoot } from "../core/package-root.js";

/** The version in package.json (read at run time so it cannot drift from the package). */
export function packageVersion(): string {
    return JSON.parse(readFileSync(fromRoot("package.json"), "utf8")).version;
}
