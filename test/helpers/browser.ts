// The browser the web page tests drive: Debian's chromium (scripts/system-packages.txt), never a
// download. The flags keep it from reaching for the network this closed machine refuses.
import { existsSync } from "node:fs";

export const CHROMIUM = process.env.AUTOGLM_CHROMIUM ?? "/usr/bin/chromium";
export const haveBrowser = existsSync(CHROMIUM);
export const BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
