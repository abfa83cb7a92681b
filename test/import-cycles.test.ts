// No value-import cycle in src/, convert/, models/: a module that loads its own importer sees it half
// initialised (the runtime once built a speech model that opened a runtime). `import type` is free.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";
import { importCycles, valueImports } from "./helpers/import-graph.js";
import { tempDir } from "./helpers/tmp.js";

describe("import cycles", () => {
    it("src/, convert/ and models/ import each other's values without a cycle", () => {
        expect(importCycles(ROOT, ["src", "convert", "models"])).toEqual([]);
    });

    it("the check sees value imports and re-exports, and leaves type-only ones out", () => {
        const dir = tempDir("import-cycles");
        mkdirSync(join(dir, "src"), { recursive: true });
        const file = (name: string, text: string) => writeFileSync(join(dir, "src", name), text);
        file("a.ts", 'import { b } from "./b.js";\nimport type { C } from "./c.js";\nexport const a = b;\n');
        file(
            "b.ts",
            '// import { a } from "./a.js";\nimport {\n    type A,\n    type B,\n} from "./a.js";\nexport { c } from "./c.js";\nexport const b = 1;\n',
        );
        file("c.ts", 'import "./a.js";\nexport const c = 2;\nexport type C = number;\n');
        file("d.ts", 'const lazy = () => import("./d.js");\nexport { lazy };\n');
        expect(valueImports(join(dir, "src", "a.ts")).map((f) => f.slice(-4))).toEqual(["b.ts"]);
        expect(valueImports(join(dir, "src", "b.ts")).map((f) => f.slice(-4))).toEqual(["c.ts"]);
        // a -> b -> c -> a is a cycle; d's dynamic import of itself is not (it loads later).
        expect(importCycles(dir, ["src"])).toEqual([["src/a.ts", "src/b.ts", "src/c.ts"]]);
    });
});
