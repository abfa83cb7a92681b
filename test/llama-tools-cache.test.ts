// The reference-tool cache (scripts/build-llama-tools.sh) does not depend on the package copy that
// built it: the tools are built from a scratch copy of the package, the copy is deleted, and the tools
// still run (the variant's libraries are copied beside them, found through an $ORIGIN run path). A
// cached build is run before it is trusted: one whose library was deleted is rebuilt, with one line on
// stderr saying why. Only llama-bench is built here (AUTOGLM_LLAMA_TOOLS), into a cache of its own.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultModel } from "../models/default-model.js";
import { ROOT } from "./helpers/cli.js";
import { llamaSourceDir } from "./helpers/llama-tools.js";
import { tempDir } from "./helpers/tmp.js";

const root = tempDir("llama-tools-cache");
const cache = join(root, "cache");
const variant = `${process.platform}-${process.arch}`;
let model: string;

/** A copy of what the script reads from the package: the scripts, the llama.cpp bundle's files, the variant's libraries. */
function packageCopy(name: string): string {
    const pkg = join(root, name);
    for (const f of ["scripts/build-llama-tools.sh", "scripts/llama-source.sh", "scripts/reference-tools/CMakeLists.txt"])
        cpSync(join(ROOT, f), join(pkg, f));
    for (const f of ["gitRelease.bundle", "llama.cpp.info.json"])
        cpSync(join(ROOT, "node_modules/node-llama-cpp/llama", f), join(pkg, "node_modules/node-llama-cpp/llama", f));
    const bins = join(ROOT, "node_modules/@node-llama-cpp", variant, "bins");
    for (const d of readdirSync(bins))
        cpSync(join(bins, d), join(pkg, "node_modules/@node-llama-cpp", variant, "bins", d), { recursive: true, dereference: true });
    return pkg;
}

function build(pkg: string) {
    const r = spawnSync("bash", [join(pkg, "scripts/build-llama-tools.sh")], {
        encoding: "utf8",
        env: { ...process.env, AUTOGLM_CACHE: cache, AUTOGLM_LLAMA_TOOLS: "llama-bench" },
        timeout: 1_800_000,
    });
    return { code: r.status, bin: r.stdout.trim(), stderr: r.stderr };
}

/** A short llama-bench run on the demo model: the tools load their libraries and compute. */
function bench(bin: string) {
    return spawnSync(join(bin, "llama-bench"), ["-m", model, "-p", "16", "-n", "4", "-r", "1", "-t", "1"], {
        encoding: "utf8",
        timeout: 300_000,
    });
}

beforeAll(async () => {
    model = (await defaultModel()).text;
    // The llama.cpp source is shared with the machine's own cache (it is only read): no second clone.
    const tag = basename(dirname(llamaSourceDir()));
    mkdirSync(join(cache, tag), { recursive: true });
    symlinkSync(llamaSourceDir(), join(cache, tag, "src"));
});

describe("the reference-tool cache", () => {
    it("tools built from a package copy run after the copy is deleted; a broken cache is rebuilt with one line saying why", () => {
        const first = packageCopy("pkg-a");
        const made = build(first);
        expect(made.code, made.stderr).toBe(0);
        expect(made.bin.startsWith(cache)).toBe(true);
        rmSync(first, { recursive: true, force: true });

        const ran = bench(made.bin);
        expect(ran.status, ran.stderr).toBe(0);
        expect(ran.stdout).toMatch(/tg4/);
        // No path into the deleted copy is left: the run path is $ORIGIN, the libraries are files beside the tools.
        const dynamic = execFileSync("readelf", ["-d", join(made.bin, "llama-bench")], { encoding: "utf8" });
        expect(dynamic).toMatch(/(RUNPATH|RPATH).*\$ORIGIN/);
        expect(dynamic).not.toContain(first);

        // Trusted as it is: the same folder, nothing on stderr.
        const second = packageCopy("pkg-b");
        const again = build(second);
        expect(again).toEqual({ code: 0, bin: made.bin, stderr: "" });

        // A library goes missing: the script notices before handing the folder out, and rebuilds.
        rmSync(join(made.bin, "libllama-common.so"));
        expect(bench(made.bin).status).not.toBe(0);
        const repaired = build(second);
        expect(repaired.code, repaired.stderr).toBe(0);
        expect(repaired.stderr.trim().split("\n")).toEqual([
            expect.stringMatching(/cannot be used \(llama-bench: libllama-common\.so: cannot open shared object file\); rebuilding$/),
        ]);
        rmSync(second, { recursive: true, force: true });
        expect(existsSync(join(made.bin, "libllama-common.so"))).toBe(true);
        expect(bench(made.bin).status).toBe(0);
    }, 3_600_000);
});
