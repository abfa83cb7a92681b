import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // Tests drive real processes and models on a 2-core machine: one file at a time.
        fileParallelism: false,
        pool: "forks",
        testTimeout: 120_000,
        hookTimeout: 600_000,
        reporters: ["default", "./test/helpers/summary-reporter.ts"],
    },
});
