import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites each start their own local AWS on ephemeral ports, so files can run in parallel.
    // But vitest 4's default maxWorkers for `vitest run` is availableParallelism() - 1 (never below 1): on a
    // 2-core machine that is 1, and files run one at a time. maxWorkers is left at that default until
    // `vitest run test/integration --maxWorkers=2` passes twice in a row (it did not under a loaded machine:
    // 30 s test timeouts and the functions' own timeouts fired); VITEST_MAX_WORKERS overrides it.
    pool: "forks",
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
