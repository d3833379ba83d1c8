import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { MetricsPort, MetricUnit as PortUnit } from "../lifecycle/ports.js";

const UNITS: Readonly<Record<PortUnit, (typeof MetricUnit)[keyof typeof MetricUnit]>> = {
  Count: MetricUnit.Count,
  Seconds: MetricUnit.Seconds,
  Percent: MetricUnit.Percent,
};

/**
 * The metrics port on Powertools Metrics (the same 2.x line as the Logger and Idempotency), which writes
 * each record as one embedded-metric-format line on stdout.
 *
 * Powertools adds a `service` dimension to every metric by default; a metric's identity in CloudWatch is
 * its namespace, name and full dimension set, so the alarms and the dashboard (which name `Deployment`
 * alone) would not see it. The default dimensions are therefore replaced by exactly `dimensions`
 * (clearDefaultDimensions, then setDefaultDimensions; "Adding dimensions" in
 * https://docs.aws.amazon.com/powertools/typescript/latest/features/metrics/, and Metrics#setOptions in the
 * package's lib/esm/Metrics.js, which seeds the defaults with `service`). POWERTOOLS_DEV would turn the
 * records off; no stage sets it (serverless.yml).
 * @param namespace the CloudWatch namespace
 * @param dimensions the dimensions every metric carries, name → value
 */
export function powertoolsMetrics(
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
): MetricsPort {
  const metrics = new Metrics({ namespace });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ ...dimensions });
  return {
    add: (name, unit, value) => metrics.addMetric(name, UNITS[unit], value),
    publish: (time) => {
      metrics.setTimestamp(time);
      metrics.publishStoredMetrics();
    },
  };
}
