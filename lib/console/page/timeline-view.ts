import { fleetRows, type TimelineLane, timelineLanes } from "../fleet.js";
import { h, svg } from "./dom.js";
import type { FleetData } from "./fleet-view.js";

const DAYS = 90;
const LABEL_WIDTH = 260;
const PLOT_WIDTH = 720;
const LANE_HEIGHT = 22;
const TOP = 30;
/** Room right of the plot for the failing/revoked marks. */
const MARK_WIDTH = 90;

/** The expiry timeline: next 90 days, a lane per key × Region, ValidTo and planned renewal on each. */
export function timelineView(data: FleetData, now: Date): HTMLElement {
  const lanes = timelineLanes(fleetRows(data.keys, data.details), now, DAYS);
  const height = TOP + Math.max(lanes.length, 1) * LANE_HEIGHT + 10;
  const x = (day: number) => LABEL_WIDTH + (Math.min(Math.max(day, 0), DAYS) / DAYS) * PLOT_WIDTH;
  const ticks = [];
  for (let day = 0; day <= DAYS; day += 10) {
    const date = new Date(now.getTime() + day * 86_400_000).toISOString().slice(5, 10);
    ticks.push(
      svg("line", { x1: x(day), x2: x(day), y1: TOP - 6, y2: height - 10, class: "tick" }),
      svg(
        "text",
        { x: x(day), y: TOP - 10, class: "tick-label", "text-anchor": "middle" },
        day === 0 ? "today" : date,
      ),
    );
  }
  const picture = svg(
    "svg",
    {
      id: "timeline",
      role: "img",
      "aria-labelledby": "timeline-title timeline-desc",
      viewBox: `0 0 ${LABEL_WIDTH + PLOT_WIDTH + MARK_WIDTH} ${height}`,
      width: LABEL_WIDTH + PLOT_WIDTH + MARK_WIDTH,
      height,
    },
    svg(
      "title",
      { id: "timeline-desc" },
      `ValidTo and planned renewals of ${lanes.length} key-Regions over the next ${DAYS} days`,
    ),
    ...ticks,
    ...lanes.map((lane, i) => laneElement(lane, TOP + i * LANE_HEIGHT + LANE_HEIGHT / 2, x)),
  );
  return h(
    "section",
    { "aria-labelledby": "timeline-title" },
    h("h1", { id: "timeline-title" }, `Expiry timeline: the next ${DAYS} days`),
    legend(),
    lanes.length === 0
      ? h("p", {}, "Nothing expires, renews, fails or is revoked in the next 90 days.")
      : picture,
    laneTable(lanes),
  );
}

function laneElement(lane: TimelineLane, y: number, x: (day: number) => number): SVGElement {
  const kind = lane.revoked ? "revoked" : lane.failing ? "failing" : "ok";
  const parts: SVGElement[] = [
    svg("text", { x: 4, y: y + 4, class: `lane-label ${kind}` }, lane.label),
    svg("line", { x1: x(0), x2: x(DAYS), y1: y, y2: y, class: "lane" }),
  ];
  if (lane.renewalDay !== undefined && lane.validToDay !== undefined) {
    parts.push(
      svg("line", {
        x1: x(lane.renewalDay),
        x2: x(lane.validToDay),
        y1: y,
        y2: y,
        class: `window ${lane.renewalLate ? "late" : ""}`,
      }),
    );
  }
  if (lane.renewalDay !== undefined && lane.renewalDay <= DAYS) {
    const rx = x(lane.renewalDay);
    parts.push(
      svg(
        "path",
        {
          d: `M${rx - 6} ${y + 6} L${rx} ${y - 6} L${rx + 6} ${y + 6} Z`,
          class: `renewal ${lane.renewalLate ? "late" : ""}`,
        },
        svg(
          "title",
          {},
          `${lane.label}: renewal ${dayText(lane.renewalDay)}${lane.renewalLate ? " — later than the policy allows" : ""}`,
        ),
      ),
    );
  }
  if (lane.validToDay !== undefined && lane.validToDay <= DAYS) {
    parts.push(
      svg(
        "circle",
        { cx: x(lane.validToDay), cy: y, r: 6, class: `validto ${kind}` },
        svg(
          "title",
          {},
          `${lane.label}: ValidTo ${dayText(lane.validToDay)}${lane.failing ? " — failing" : ""}${lane.revoked ? " — revoked" : ""}`,
        ),
      ),
    );
  }
  if (lane.revoked)
    parts.push(svg("text", { x: x(DAYS) + 10, y: y + 4, class: "mark revoked" }, "✕ revoked"));
  else if (lane.failing)
    parts.push(svg("text", { x: x(DAYS) + 10, y: y + 4, class: "mark failing" }, "! failing"));
  return svg("g", { class: "lane-group", "data-key": lane.keyId }, ...parts);
}

function dayText(day: number): string {
  return day < 0
    ? `${Math.round(-day)} days ago`
    : `in ${day < 1 ? "under a day" : `${Math.round(day)} days`}`;
}

function legend(): HTMLElement {
  return h(
    "ul",
    { class: "legend", "aria-label": "Legend" },
    h("li", {}, h("span", { class: "swatch validto" }), " ValidTo"),
    h("li", {}, h("span", { class: "swatch renewal" }), " planned renewal (renew window opens)"),
    h("li", {}, h("span", { class: "swatch late" }), " renewal later than the policy allows"),
    h("li", {}, h("span", { class: "swatch failing" }), " failing"),
    h("li", {}, h("span", { class: "swatch revoked" }), " revoked"),
  );
}

/** The same as a table, for keyboard and screen-reader users. */
function laneTable(lanes: TimelineLane[]): HTMLElement {
  return h(
    "details",
    {},
    h("summary", {}, "As a table"),
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Key · Region", "ValidTo", "Planned renewal", "Note"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        ...lanes.map((lane) =>
          h(
            "tr",
            {},
            h("td", {}, h("a", { href: `#/keys/${encodeURIComponent(lane.keyId)}` }, lane.label)),
            h("td", {}, lane.validToDay === undefined ? "—" : dayText(lane.validToDay)),
            h(
              "td",
              { class: lane.renewalLate ? "bad" : undefined },
              lane.renewalDay === undefined ? "—" : dayText(lane.renewalDay),
            ),
            h(
              "td",
              {},
              [
                lane.revoked && "revoked",
                lane.failing && "failing",
                lane.renewalLate && "renewal past policy",
              ]
                .filter(Boolean)
                .join(", "),
            ),
          ),
        ),
      ),
    ),
  );
}
