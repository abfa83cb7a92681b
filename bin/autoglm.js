#!/usr/bin/env node
// The executable parses nothing itself: it hands argv to the compiled CLI.
import { main } from "../dist/src/cli/main.js";

main(process.argv).then(
    (code) => {
        process.exitCode = code;
    },
    (err) => {
        console.error(`autoglm: ${err?.stack ?? err}`);
        process.exitCode = 1;
    },
);
