// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary, so that
// tools which read a run's last line see the counts in a runner-neutral form.
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
    onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
        let passed = 0,
            failed = 0,
            skipped = 0;
        for (const m of modules) {
            for (const t of m.children.allTests()) {
                const state = t.result().state;
                if (state === "passed") passed++;
                else if (state === "failed") failed++;
                else skipped++;
            }
            if (m.state() === "failed" && [...m.children.allTests()].length === 0) failed++; // a file that failed to load
        }
        process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    }
}
