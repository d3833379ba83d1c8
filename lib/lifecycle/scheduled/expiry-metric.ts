import { type AgentHealth, AgentHealthState } from "../../domain/agent-protocol.js";
import type { RegionRecord } from "../../domain/managed-key.js";
import type { KeyRepository, MetricsPort } from "../ports.js";
import type { SweepReport } from "./sweep.js";

/** CloudWatch namespace of Tether's own metrics (infra/alerts.yml and infra/dashboard.yml read it). */
export const METRIC_NAMESPACE = "Tether";
/** The dimension that keeps two deployments' figures apart: its value is the deployment's table name. */
export const METRIC_DIMENSION = "Deployment";

/**
 * Learns the shortest time to expiry among the Regions a sweep looked at, for free: it watches the Region
 * records the sweep writes anyway (every reconciled Region is saved, to move its next check), so it costs
 * no read, no Query and no Scan — a Region the sweep did not touch this run is simply not in the figure.
 *
 * That is enough for an alarm: a Region inside its renew window that fails to renew stays due and is
 * retried at least every 30 minutes (lib/domain/schedule.ts RETRY_MAX_MS), so its figure keeps arriving
 * until it is renewed; Regions not due are, by construction of nextCheckAt, not about to expire unnoticed.
 * Only Regions whose material Tether expects in KMS with a known ValidTo count (a revoked key's Region or
 * a KEY_MATERIAL_DOES_NOT_EXPIRE import has no expiry to watch; lost material raises its own alert).
 */
export class ExpiryWatch {
  #earliestValidToMs: number | undefined;

  /** The repository to hand the sweep: every call goes through unchanged; saved Regions are noted. */
  observe(keys: KeyRepository): KeyRepository {
    return new Proxy(keys, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        if (property === "saveRegion" || property === "addRegion") {
          return async (...args: Parameters<KeyRepository["saveRegion"]>) => {
            await value.apply(target, args);
            this.#note(args[1]);
          };
        }
        return value.bind(target);
      },
    });
  }

  /** Milliseconds from `now` to the earliest ValidTo seen (0 when it has passed), undefined if none. */
  shortestTimeToExpiryMs(now: Date): number | undefined {
    if (this.#earliestValidToMs === undefined) return undefined;
    return Math.max(0, this.#earliestValidToMs - now.getTime());
  }

  #note(record: RegionRecord): void {
    if (!record.materialExpected || record.importedValidTo === undefined) return;
    const validToMs = record.importedValidTo.getTime();
    if (Number.isNaN(validToMs)) return;
    if (this.#earliestValidToMs === undefined || validToMs < this.#earliestValidToMs) {
      this.#earliestValidToMs = validToMs;
    }
  }
}

/** What one sweep run publishes. */
export interface SweepMetricsInput {
  readonly report: SweepReport;
  readonly shortestTimeToExpiryMs: number | undefined;
  readonly time: Date;
  /** With `vault: agent`: the agents' health this run (undefined: the check failed, which is not healthy). */
  readonly agents?: { readonly health: AgentHealth | undefined } | undefined;
}

/**
 * One sweep run's metrics, as one CloudWatch embedded-metric-format record (a log line CloudWatch Logs turns
 * into metrics, no PutMetricData call and no IAM permission needed; the adapter writes it): the run's
 * imports, renewals, restores and per-Region failures (counts), the shortest time to expiry (seconds,
 * only when known), and with warm import parameters on, the sets the run renewed and the share of the
 * key-Regions it looked at that are warm (percent), and with `vault: agent` the agents' health
 * (addAgentMetrics). Namespace {@link METRIC_NAMESPACE}, one dimension, {@link METRIC_DIMENSION}: what the
 * alarms and the dashboard read (infra/alerts.yml, infra/dashboard.yml).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function publishSweepMetrics(metrics: MetricsPort, input: SweepMetricsInput): void {
  const { outcomes } = input.report;
  metrics.add("Imported", "Count", outcomes.imported ?? 0);
  metrics.add("Renewed", "Count", outcomes.renewed ?? 0);
  metrics.add("Restored", "Count", outcomes.restored ?? 0);
  metrics.add("RegionFailures", "Count", outcomes.failed ?? 0);
  metrics.add("RegionsDue", "Count", input.report.due);
  const parameters = input.report.parameters;
  if (parameters !== undefined) {
    // Warm import parameters: sets renewed, and the share of key-Regions looked at whose set serves a restore.
    metrics.add("ParametersWarmed", "Count", parameters.warmed);
    if (parameters.sharePercent !== undefined) {
      metrics.add("WarmParametersShare", "Percent", parameters.sharePercent);
    }
  }
  if (input.shortestTimeToExpiryMs !== undefined) {
    metrics.add("ShortestTimeToExpiry", "Seconds", Math.floor(input.shortestTimeToExpiryMs / 1000));
  }
  if (input.agents !== undefined) addAgentMetrics(metrics, input.agents.health, input.time);
  metrics.publish(input.time);
}

/**
 * The vault agents' health (docs/agent.md): VaultAgentsHealthy 1 when healthy, 0 when down, behind, or not
 * known (the check failed: never silently fine); VaultAgentOldestPendingSeconds, how long the oldest
 * unanswered request has waited (0 when none). The agent-health alarm reads the first (infra/alerts.yml).
 */
function addAgentMetrics(metrics: MetricsPort, health: AgentHealth | undefined, now: Date): void {
  metrics.add("VaultAgentsHealthy", "Count", health?.state === AgentHealthState.Healthy ? 1 : 0);
  if (health === undefined) return;
  const waitedMs = health.oldestPending === undefined ? 0 : now.getTime() - health.oldestPending.getTime();
  metrics.add("VaultAgentOldestPendingSeconds", "Seconds", Math.max(0, Math.floor(waitedMs / 1000)));
}
