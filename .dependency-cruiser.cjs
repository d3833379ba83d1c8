/**
 * The import direction (README.md, Layout): dependencies point inwards. `npm run lint` runs this;
 * a violation fails with the rule's name. test/unit/dependency-rules.test.ts runs each rule on a fixture
 * with one deliberate violation (test/fixtures/depcruise).
 *
 * Paths are relative to the directory depcruise runs in: the project's root, or the fixture's (the test
 * cruises it from there), so `^lib/` is lib/ in both; a package resolves to `.../node_modules/...`.
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** The adapters: they translate between a port and an SDK, a file or a device. */
const ADAPTERS = "^lib/(kms|store|vault|audit|cloudtrail|metrics|accounts)/";
/** AWS SDK, Smithy and Powertools: what talks to AWS or writes its formats. */
const AWS_PACKAGES = "(^|/)node_modules/(@aws-sdk|@smithy|@aws-crypto|@aws-lambda-powertools|@middy)/";
/** Node's modules that reach files, the network, processes, the clock's timers or the environment. */
const NODE_IO =
  "^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|dns|child_process|cluster|worker_threads|os|process|readline|timers|timers/promises|perf_hooks|async_hooks)$";

module.exports = {
  forbidden: [
    {
      name: "domain-is-pure",
      comment:
        "lib/domain holds the rules: it imports only lib/domain (and pure libraries), never an outer ring of the project, an AWS SDK or Node I/O.",
      severity: "error",
      from: { path: "^lib/domain/" },
      to: {
        pathNot: "^lib/domain/",
        path: [`^(lib|functions|infra|bench|scripts|bin|test)/`, AWS_PACKAGES, NODE_IO],
      },
    },
    {
      name: "lifecycle-imports-no-adapter",
      comment:
        "lib/lifecycle talks to the world through lib/lifecycle/ports.ts only: no adapter (lib/kms, lib/store, lib/vault, lib/audit, lib/cloudtrail, lib/metrics, lib/accounts), no AWS SDK or Powertools (lib/composition-root.ts wires them).",
      severity: "error",
      from: { path: "^lib/lifecycle/" },
      to: { path: [ADAPTERS, AWS_PACKAGES, "^lib/(config|composition-root)\\.ts$", "^(functions|infra)/"] },
    },
    {
      name: "adapters-import-ports-and-domain-only",
      comment:
        "An adapter imports its own folder, lib/domain and lib/lifecycle/ports.ts: no use case, no other adapter, no lib/config.ts (it is handed its settings), no handler.",
      severity: "error",
      from: { path: "^lib/(kms|store|vault|audit|cloudtrail|metrics|accounts)/" },
      to: {
        path: "^(lib|functions|infra|bench|scripts|bin)/",
        pathNot: [
          "^lib/($1|domain)/",
          "^lib/lifecycle/ports\\.ts$",
          // Justified: the token bucket that keeps Tether's AWS calls under their quotas is one class; the
          // CloudTrail adapter paces LookupEvents with it too rather than keeping a copy.
          "^lib/kms/rate-limiter\\.ts$",
        ],
      },
    },
    {
      name: "only-local-wiring-imports-infra-local",
      comment:
        "infra/local is the local AWS (the KMS emulator, dynalite, the event bus): only itself, tests, benchmarks and scripts start it.",
      severity: "error",
      from: { pathNot: "^(infra/local|test|bench|scripts)/" },
      to: { path: "^infra/local/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^bench/results/" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
