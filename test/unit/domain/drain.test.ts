import { describe, expect, it } from "vitest";
import { AlertReason } from "../../../lib/domain/alerts.js";
import {
  DRAIN_CONTINUED_DETAIL_TYPE,
  type DrainRequest,
  type DrainRunOutcome,
  drainRequestOf,
  MAX_DRAIN_RUNS,
  nextDrainStep,
} from "../../../lib/domain/drain.js";
import { parseAwsRegion } from "../../../lib/domain/ids.js";

const region = parseAwsRegion("eu-west-1");
const alert = (detail: Record<string, unknown>) => ({
  source: "tether",
  "detail-type": "Tether Alert",
  detail: { reasonCode: AlertReason.RegionalLossDetected, region: "eu-west-1", ...detail },
});
const continued = (detail: Record<string, unknown>) => ({
  source: "tether",
  "detail-type": DRAIN_CONTINUED_DETAIL_TYPE,
  detail: { region: "eu-west-1", run: 1, ...detail },
});

describe("drainRequestOf", () => {
  it.each([
    ["the incident's alert", alert({}), { region, run: 0 }],
    ["a continuation", continued({ run: 7 }), { region, run: 7 }],
    ["the last allowed run", continued({ run: MAX_DRAIN_RUNS }), { region, run: MAX_DRAIN_RUNS }],
    [
      "the schedule's event",
      { source: "aws.events", "detail-type": "Scheduled Event", detail: {} },
      undefined,
    ],
    ["another alert", alert({ reasonCode: AlertReason.IncorrectKeyMaterial }), undefined],
    ["an alert from elsewhere", { ...alert({}), source: "aws.kms" }, undefined],
    ["an alert with no Region", alert({ region: undefined }), undefined],
    ["an alert naming no Region", alert({ region: "not a region" }), undefined],
    ["a continuation past the run limit", continued({ run: MAX_DRAIN_RUNS + 1 }), undefined],
    ["a continuation with a fractional run", continued({ run: 1.5 }), undefined],
    ["a continuation with a negative run", continued({ run: -1 }), undefined],
    ["a continuation with the run as text", continued({ run: "2" }), undefined],
    ["a continuation with no detail", { ...continued({}), detail: null }, undefined],
    ["no event", undefined, undefined],
    ["a string", "drain eu-west-1", undefined],
  ])("%s", (_name, event, expected) => {
    expect(drainRequestOf(event)).toEqual(expected);
  });
});

describe("nextDrainStep", () => {
  const request: DrainRequest = { region, run: 2 };
  const outcome = (o: Partial<DrainRunOutcome>): DrainRunOutcome => ({
    incidentOpen: true,
    due: 10,
    limit: 500,
    deferred: 0,
    ...o,
  });
  it.each([
    [
      "incident closed by the run",
      outcome({ incidentOpen: false, deferred: 3 }),
      { kind: "done", why: "region-whole" },
    ],
    ["all due work done, incident still open", outcome({}), { kind: "done", why: "nothing-due" }],
    ["nothing was due", outcome({ due: 0 }), { kind: "done", why: "nothing-due" }],
    ["time ran short", outcome({ deferred: 1 }), { kind: "continue", next: { region, run: 3 } }],
    ["a full limit taken", outcome({ due: 500 }), { kind: "continue", next: { region, run: 3 } }],
  ])("%s", (_name, o, expected) => {
    expect(nextDrainStep(request, o)).toEqual(expected);
  });

  it("stops at the run limit even with work left", () => {
    expect(nextDrainStep({ region, run: MAX_DRAIN_RUNS }, outcome({ deferred: 5 }))).toEqual({
      kind: "stopped",
      why: "run-limit",
    });
  });
});
