import { describe, expect, it, vi } from "vitest";
import { parseAwsRegion, parseTetherKeyId } from "../../lib/domain/ids.js";
import type { RegionRecord } from "../../lib/domain/managed-key.js";
import type { KeyRepository } from "../../lib/lifecycle/ports.js";
import {
  ExpiryWatch,
  METRIC_NAMESPACE,
  publishSweepMetrics,
} from "../../lib/lifecycle/scheduled/expiry-metric.js";
import { powertoolsMetrics } from "../../lib/metrics/powertools-metrics.js";

const now = new Date("2026-11-28T12:00:00Z");
const keyId = parseTetherKeyId("tk_01JDW0000000000000000000AA");

function region(name: string, fields: Partial<RegionRecord>): RegionRecord {
  return {
    region: parseAwsRegion(name),
    keyArn: `arn:aws:kms:${name}:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`,
    materialExpected: true,
    nextCheckAt: now,
    consecutiveFailures: 0,
    ...fields,
  };
}

/** A repository that only records saves: the watch must pass every call through. */
function recordingRepository(): { repo: KeyRepository; saved: string[] } {
  const saved: string[] = [];
  const repo = {
    saveRegion: async (_id: unknown, record: RegionRecord) => {
      saved.push(record.region);
    },
    addRegion: async (_id: unknown, record: RegionRecord) => {
      saved.push(`add:${record.region}`);
    },
    due: async () => [],
  } as unknown as KeyRepository;
  return { repo, saved };
}

describe("ExpiryWatch", () => {
  it("passes writes through and keeps the earliest ValidTo of Regions whose material is expected", async () => {
    const { repo, saved } = recordingRepository();
    const watch = new ExpiryWatch();
    const keys = watch.observe(repo);
    await keys.saveRegion(keyId, region("eu-west-1", { importedValidTo: new Date("2026-12-20T12:00:00Z") }));
    await keys.saveRegion(
      keyId,
      region("eu-central-1", { importedValidTo: new Date("2026-12-01T12:00:00Z") }),
    );
    // Revoked (material not expected) and non-expiring imports do not count.
    await keys.saveRegion(
      keyId,
      region("us-east-1", { materialExpected: false, importedValidTo: new Date("2026-11-29T00:00:00Z") }),
    );
    await keys.addRegion(keyId, region("us-west-2", {}));
    expect(saved).toEqual(["eu-west-1", "eu-central-1", "us-east-1", "add:us-west-2"]);
    expect(await keys.due(now, 10)).toEqual([]);
    expect(watch.shortestTimeToExpiryMs(now)).toBe(3 * 24 * 3600 * 1000);
  });

  it("knows nothing before a Region is saved, and says 0 once the earliest ValidTo has passed", async () => {
    const watch = new ExpiryWatch();
    expect(watch.shortestTimeToExpiryMs(now)).toBeUndefined();
    await watch
      .observe(recordingRepository().repo)
      .saveRegion(keyId, region("eu-west-1", { importedValidTo: now }));
    expect(watch.shortestTimeToExpiryMs(new Date(now.getTime() + 1000))).toBe(0);
  });

  it("does not note a Region whose save failed", async () => {
    const failing = {
      saveRegion: async () => {
        throw new Error("lease lost");
      },
    } as unknown as KeyRepository;
    const watch = new ExpiryWatch();
    await expect(
      watch.observe(failing).saveRegion(keyId, region("eu-west-1", { importedValidTo: now })),
    ).rejects.toThrow("lease lost");
    expect(watch.shortestTimeToExpiryMs(now)).toBeUndefined();
  });
});

/** What the sweep's metrics adapter writes for one run: the embedded-metric-format line(s) on stdout. */
function publishedRecords(publish: () => void): Array<Record<string, unknown>> {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    publish();
  } finally {
    write.mockRestore();
  }
  return lines
    .flatMap((text) => text.split("\n").filter((line) => line.trim() !== ""))
    .map((line) => JSON.parse(line));
}

describe("publishSweepMetrics through Powertools Metrics", () => {
  const report = {
    due: 4,
    processed: 4,
    deferred: 0,
    outcomes: { renewed: 2, restored: 1, failed: 1 },
    outbox: { published: 0, waiting: 0 },
  };
  // Within the window CloudWatch accepts (Powertools warns outside 14 days back and 2 hours ahead).
  const time = new Date(Math.floor(Date.now() / 1000) * 1000);

  it("is one embedded-metric-format record with the counts and the shortest time to expiry in seconds", () => {
    const metrics = powertoolsMetrics(METRIC_NAMESPACE, { Deployment: "tether-prod" });
    const records = publishedRecords(() =>
      publishSweepMetrics(metrics, { report, shortestTimeToExpiryMs: 90_500, time }),
    );
    expect(records).toEqual([
      {
        _aws: {
          Timestamp: time.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: METRIC_NAMESPACE,
              Dimensions: [["Deployment"]],
              Metrics: [
                { Name: "Imported", Unit: "Count" },
                { Name: "Renewed", Unit: "Count" },
                { Name: "Restored", Unit: "Count" },
                { Name: "RegionFailures", Unit: "Count" },
                { Name: "RegionsDue", Unit: "Count" },
                { Name: "ShortestTimeToExpiry", Unit: "Seconds" },
              ],
            },
          ],
        },
        Deployment: "tether-prod",
        Imported: 0,
        Renewed: 2,
        Restored: 1,
        RegionFailures: 1,
        RegionsDue: 4,
        ShortestTimeToExpiry: 90,
      },
    ]);
  });

  it("leaves the expiry metric out when the run saw no expiring material, and starts afresh each run", () => {
    const metrics = powertoolsMetrics(METRIC_NAMESPACE, { Deployment: "d" });
    publishedRecords(() => publishSweepMetrics(metrics, { report, shortestTimeToExpiryMs: 1000, time }));
    const [record, ...more] = publishedRecords(() =>
      publishSweepMetrics(metrics, { report, shortestTimeToExpiryMs: undefined, time }),
    );
    expect(more).toEqual([]);
    expect(record).not.toHaveProperty("ShortestTimeToExpiry");
    expect(JSON.stringify(record?._aws)).not.toContain("ShortestTimeToExpiry");
    expect(record).toMatchObject({ Deployment: "d", Renewed: 2, RegionsDue: 4 });
    expect(record).not.toHaveProperty("service");
  });
});

describe("publishSweepMetrics: warm import parameters", () => {
  const report = {
    due: 0,
    processed: 0,
    deferred: 0,
    outcomes: {},
    outbox: { published: 0, waiting: 0 },
    parameters: { checked: 8, warm: 6, warmed: 3, cold: 2, failed: 0, sharePercent: 75 },
  };
  const time = new Date(Math.floor(Date.now() / 1000) * 1000);
  const publish = (r: typeof report | (Omit<typeof report, "parameters"> & { parameters?: unknown })) => {
    const metrics = powertoolsMetrics(METRIC_NAMESPACE, { Deployment: "d" });
    const [record, ...more] = publishedRecords(() =>
      publishSweepMetrics(metrics, {
        report: r as Parameters<typeof publishSweepMetrics>[1]["report"],
        shortestTimeToExpiryMs: undefined,
        time,
      }),
    );
    expect(more).toEqual([]);
    return record as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: unknown[] }> } };
  };

  it("publishes the warm share (percent) and the sets renewed (count)", () => {
    const record = publish(report);
    const metrics = record._aws.CloudWatchMetrics[0]?.Metrics;
    expect(metrics).toContainEqual({ Name: "WarmParametersShare", Unit: "Percent" });
    expect(metrics).toContainEqual({ Name: "ParametersWarmed", Unit: "Count" });
    expect(record.WarmParametersShare).toBe(75);
    expect(record.ParametersWarmed).toBe(3);
  });

  it("publishes no share when nothing was looked at, and neither figure with warming off", () => {
    const empty = publish({ ...report, parameters: { checked: 0, warm: 0, warmed: 0, cold: 0, failed: 0 } });
    expect(empty).not.toHaveProperty("WarmParametersShare");
    expect(empty.ParametersWarmed).toBe(0);
    const { parameters: _off, ...withoutParameters } = report;
    const off = publish(withoutParameters);
    expect(JSON.stringify(off)).not.toContain("Parameters");
  });
});

describe("publishSweepMetrics: the vault agents' health (vault: agent)", () => {
  const report = { due: 0, processed: 0, deferred: 0, outcomes: {}, outbox: { published: 0, waiting: 0 } };
  const time = new Date(Math.floor(Date.now() / 1000) * 1000);
  const publish = (agents: Parameters<typeof publishSweepMetrics>[1]["agents"]) => {
    const metrics = powertoolsMetrics(METRIC_NAMESPACE, { Deployment: "d" });
    const [record] = publishedRecords(() =>
      publishSweepMetrics(metrics, { report, shortestTimeToExpiryMs: undefined, time, agents }),
    );
    return record as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: unknown[] }> } };
  };
  const beat = { name: "a", principal: "p", lastSeen: time, state: "healthy" as const };

  it("publishes VaultAgentsHealthy 1 when healthy, 0 when down or behind, with the oldest wait in seconds", () => {
    const healthy = publish({ health: { state: "healthy", agents: [beat], summary: "1 agent(s) up" } });
    expect(healthy._aws.CloudWatchMetrics[0]?.Metrics).toEqual(
      expect.arrayContaining([
        { Name: "VaultAgentsHealthy", Unit: "Count" },
        { Name: "VaultAgentOldestPendingSeconds", Unit: "Seconds" },
      ]),
    );
    expect(healthy).toMatchObject({
      Deployment: "d",
      VaultAgentsHealthy: 1,
      VaultAgentOldestPendingSeconds: 0,
    });
    const behind = publish({
      health: {
        state: "behind",
        agents: [beat],
        oldestPending: new Date(time.getTime() - 95_400),
        summary: "waited",
      },
    });
    expect(behind).toMatchObject({ VaultAgentsHealthy: 0, VaultAgentOldestPendingSeconds: 95 });
    const down = publish({
      health: { state: "down", agents: [], summary: "no vault agent has ever called in" },
    });
    expect(down.VaultAgentsHealthy).toBe(0);
  });

  it("says not healthy when the health could not be read, and nothing of agents with another vault", () => {
    const unknown = publish({ health: undefined });
    expect(unknown.VaultAgentsHealthy).toBe(0);
    expect(unknown).not.toHaveProperty("VaultAgentOldestPendingSeconds");
    expect(JSON.stringify(publish(undefined))).not.toContain("VaultAgent");
  });
});
