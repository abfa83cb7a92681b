// The value-import graph of a TypeScript tree: the static imports and re-exports that load a module
// at run time (not `import type`, not an import whose every name is `type`, not a dynamic import()),
// and the cycles in it (Tarjan's strongly connected components).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Static imports and re-exports: the clause (empty for a bare import) and the specifier. */
const STATEMENT =
    /(?:^|[;\n])\s*(import|export)\s+(?:(type)\s+)?([^;]*?)\s*from\s*["']([^"']+)["']|(?:^|[;\n])\s*import\s*["']([^"']+)["']/g;

/** Comments out, strings kept (a specifier is a string). */
function withoutComments(source: string): string {
    return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** Whether an import or re-export clause names only types (TypeScript drops it from the output). */
function typeOnly(clause: string): boolean {
    const braces = /^\{([\s\S]*)\}$/.exec(clause.trim());
    if (!braces) return false; // a default import, a namespace, `export *`
    const names = braces[1]!
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean);
    return names.length > 0 && names.every((n) => n.startsWith("type "));
}

/** The relative value imports of one file, as the files they resolve to (x.js -> x.ts). */
export function valueImports(file: string): string[] {
    const out: string[] = [];
    for (const m of withoutComments(readFileSync(file, "utf8")).matchAll(STATEMENT)) {
        const spec = m[4] ?? m[5]!;
        if (m[2] === "type" || (m[3] !== undefined && typeOnly(m[3]))) continue;
        if (!spec.startsWith(".")) continue; // packages cannot import our files back
        const base = resolve(dirname(file), spec);
        const target = [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")].find((p) => existsSync(p));
        if (target) out.push(target);
    }
    return out;
}

function tsFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) return name === "node_modules" ? [] : tsFiles(p);
        return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
    });
}

/** Every cycle of value imports among the .ts files under `dirs`, each as its files relative to `root`. */
export function importCycles(root: string, dirs: string[]): string[][] {
    const files = dirs.flatMap((d) => tsFiles(join(root, d)));
    const edges = new Map(files.map((f) => [f, valueImports(f)]));
    // Tarjan's algorithm: a component of more than one file, or a file importing itself, is a cycle.
    let counter = 0;
    const index = new Map<string, number>(),
        low = new Map<string, number>(),
        stack: string[] = [],
        onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string) => {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
        for (const w of edges.get(v) ?? []) {
            if (!index.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
        if (low.get(v) !== index.get(v)) return;
        const component: string[] = [];
        let w: string;
        do {
            w = stack.pop()!;
            onStack.delete(w);
            component.push(w);
        } while (w !== v);
        if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component.map((f) => relative(root, f)).sort());
    };
    for (const f of files) if (!index.has(f)) visit(f);
    return cycles;
}
