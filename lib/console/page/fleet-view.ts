import type {
  KeyDetailResponse,
  KeyListResponse,
  KeyView,
  SentinelsResponse,
} from "../../api/response-schemas.js";
import {
  type FleetFilter,
  type FleetRow,
  filterRows,
  fleetRows,
  SORT_COLUMNS,
  type SortColumn,
  sortRows,
} from "../fleet.js";
import { get, route } from "./api.js";
import { h, relative } from "./dom.js";

/** What the fleet and the timeline show, loaded once per visit and refreshed on demand. */
export interface FleetData {
  keys: KeyView[];
  details: Map<string, KeyDetailResponse>;
  sentinels: SentinelsResponse | undefined;
  sentinelsError: string | undefined;
}

const PAGE_SIZE = 100;
const MAX_PAGES = 100;
const DETAIL_CONCURRENCY = 4;

/** Every managed key (all pages of GET /keys) and the sentinels. */
export async function loadFleet(): Promise<FleetData> {
  const keys: KeyView[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...(nextToken ? { nextToken } : {}) });
    const answer = await get<KeyListResponse>(`/keys?${query}`);
    keys.push(...answer.items);
    nextToken = answer.nextToken;
    if (nextToken === undefined) break;
  }
  let sentinels: SentinelsResponse | undefined;
  let sentinelsError: string | undefined;
  try {
    sentinels = await get<SentinelsResponse>("/sentinels");
  } catch (error) {
    sentinelsError = (error as Error).message;
  }
  return { keys, details: new Map(), sentinels, sentinelsError };
}

/** Fetches GET /keys/{id} for each key (a few at a time), calling `progress` as answers come. */
export async function loadDetails(data: FleetData, progress: () => void): Promise<void> {
  const queue = data.keys.filter((key) => !data.details.has(key.id)).map((key) => key.id);
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        data.details.set(id, await get<KeyDetailResponse>(route("keys", id)));
        progress();
      } catch {
        // the row keeps "—" for its next action; the key page shows the error
      }
    }
  };
  await Promise.all(Array.from({ length: DETAIL_CONCURRENCY }, worker));
}

const COLUMN_TITLES: Record<SortColumn, string> = {
  key: "Key",
  region: "Region",
  status: "Status",
  validTo: "ValidTo",
  nextAction: "Next planned action",
  lastOutcome: "Last outcome",
};

interface FleetState {
  filter: FleetFilter;
  sort: SortColumn;
  ascending: boolean;
}

const state: FleetState = { filter: {}, sort: "validTo", ascending: true };

/** The fleet page: filters, a sortable table of every key × Region, the sentinels. */
export function fleetView(data: FleetData, now: Date): HTMLElement {
  const regions = [...new Set(data.keys.flatMap((key) => key.regions.map((r) => r.region)))].sort();
  const body = h("tbody");
  const count = h("p", { id: "fleet-count", role: "status" });
  const table = h("table", { id: "fleet", "aria-describedby": "fleet-count" });
  const render = () => {
    const rows = sortRows(
      filterRows(fleetRows(data.keys, data.details), state.filter, now),
      state.sort,
      state.ascending,
    );
    body.replaceChildren(...rows.map((row) => fleetRowElement(row, now)));
    count.textContent = `${rows.length} key-Region${rows.length === 1 ? "" : "s"} shown of ${data.keys.reduce((n, k) => n + k.regions.length, 0)}`;
    table.replaceChildren(headerRow(render), body);
  };
  const filters = filterForm(regions, render);
  render();
  data.keys.length > 0 && void loadDetails(data, render);
  return h(
    "section",
    { "aria-labelledby": "fleet-title" },
    h("h1", { id: "fleet-title" }, "Fleet"),
    filters,
    count,
    table,
    sentinelsPanel(data, now),
  );
}

function headerRow(render: () => void): HTMLElement {
  return h(
    "thead",
    {},
    h(
      "tr",
      {},
      ...SORT_COLUMNS.map((column) => {
        const active = state.sort === column;
        return h(
          "th",
          { scope: "col", "aria-sort": active ? (state.ascending ? "ascending" : "descending") : "none" },
          h(
            "button",
            {
              type: "button",
              "data-sort": column,
              onclick: () => {
                state.ascending = active ? !state.ascending : true;
                state.sort = column;
                render();
                (document.querySelector(`[data-sort="${column}"]`) as HTMLElement | null)?.focus();
              },
            },
            COLUMN_TITLES[column],
            active ? (state.ascending ? " ▲" : " ▼") : "",
          ),
        );
      }),
    ),
  );
}

function fleetRowElement(row: FleetRow, now: Date): HTMLElement {
  const expiresSoon = row.validTo !== undefined && Date.parse(row.validTo) - now.getTime() < 7 * 86_400_000;
  return h(
    "tr",
    {
      class: row.failing ? "failing" : row.status === "revoked" ? "revoked" : undefined,
      "data-key": row.keyId,
    },
    h("td", {}, h("a", { href: `#/keys/${encodeURIComponent(row.keyId)}` }, row.alias ?? row.keyId)),
    h("td", {}, row.region),
    h("td", {}, h("span", { class: `badge ${row.status}` }, row.status)),
    h(
      "td",
      { class: expiresSoon ? "soon" : undefined, title: row.validTo ?? "material does not expire" },
      row.validTo === undefined
        ? "—"
        : `${row.validTo.slice(0, 16).replace("T", " ")} (${relative(row.validTo, now)})`,
    ),
    h(
      "td",
      { title: row.nextAction?.at ?? row.nextCheckAt },
      row.nextAction === undefined
        ? `check ${relative(row.nextCheckAt, now)}`
        : `${row.nextAction.kind}: ${row.nextAction.summary}`,
    ),
    h("td", { class: row.failing ? "bad" : undefined }, row.lastOutcome),
  );
}

function filterForm(regions: string[], render: () => void): HTMLElement {
  const update = (event: Event) => {
    const form = (event.target as HTMLElement).closest("form") as HTMLFormElement;
    const values = new FormData(form);
    const days = String(values.get("expiring") ?? "").trim();
    state.filter = {
      status: String(values.get("status") ?? "") || undefined,
      region: String(values.get("region") ?? "") || undefined,
      expiringWithinDays: days === "" || Number.isNaN(Number(days)) ? undefined : Number(days),
      failingOnly: values.get("failing") === "on",
    };
    render();
  };
  const f = state.filter;
  return h(
    "form",
    {
      id: "filters",
      role: "search",
      "aria-label": "Filter the fleet",
      oninput: update,
      onchange: update,
      onsubmit: (e) => e.preventDefault(),
    },
    h(
      "label",
      {},
      "Status ",
      h(
        "select",
        { name: "status" },
        ...["", "active", "paused", "revoked"].map((s) =>
          h("option", { value: s, selected: f.status === s || (!f.status && s === "") }, s || "any"),
        ),
      ),
    ),
    h(
      "label",
      {},
      "Region ",
      h(
        "select",
        { name: "region" },
        h("option", { value: "" }, "any"),
        ...regions.map((r) => h("option", { value: r, selected: f.region === r }, r)),
      ),
    ),
    h(
      "label",
      {},
      "Expiring within ",
      h("input", {
        name: "expiring",
        type: "number",
        min: 0,
        inputmode: "numeric",
        size: 4,
        value: f.expiringWithinDays,
      }),
      " days",
    ),
    h(
      "label",
      {},
      h("input", { name: "failing", type: "checkbox", checked: f.failingOnly === true }),
      " failing only",
    ),
  );
}

function sentinelsPanel(data: FleetData, now: Date): HTMLElement {
  if (data.sentinels === undefined) {
    return h(
      "section",
      { class: "sentinels" },
      h("h2", {}, "Sentinels"),
      h("p", {}, data.sentinelsError ?? "not available"),
    );
  }
  return h(
    "section",
    { class: "sentinels", "aria-labelledby": "sentinels-title" },
    h("h2", { id: "sentinels-title" }, "Sentinels and regional incidents"),
    data.sentinels.items.length === 0
      ? h("p", {}, "No sentinel keys yet (the probe creates one per Region).")
      : "",
    h(
      "ul",
      {},
      ...data.sentinels.items.map((item) =>
        h(
          "li",
          { class: item.incident ? "bad" : undefined },
          `${item.region}: ${item.state}, last probe ${item.lastProbeState ?? "—"} ${relative(item.lastProbeAt, now)}`,
          item.detectionBlind ? " — detection blind" : "",
          item.incident ? ` — open incident: ${JSON.stringify(item.incident)}` : "",
        ),
      ),
    ),
  );
}
