import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites each start their own local AWS on ephemeral ports (data dirs from mkdtemp, one
    // stack per forked process), so files can run in parallel. vitest 4's default for `vitest run` is
    // availableParallelism() - 1 workers: 1 on a 2-core machine (CI's), so files ran one at a time and most
    // of the suite's wall time was waiting on local HTTP. Two workers: the whole suite in 10 min 48 s against
    // 17 min 57 s with one, on this 2-core machine with a benchmark running beside it (2026-12-05; all green
    // but for a real defect the reliability model found). VITEST_MAX_WORKERS overrides it.
    maxWorkers: 2,
    pool: "forks",
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
