import { readFileSync } from "node:fs";

/** The version in package.json (read at run time so it cannot drift from the package). */
export function packageVersion(): string {
    const url = new URL("../../../package.json", import.meta.url);
    return JSON.parse(readFileSync(url, "utf8")).version;
}
