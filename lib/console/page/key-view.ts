import type { HistoryResponse, KeyDetailResponse, KeyView } from "../../api/response-schemas.js";
import { type ApiAnswer, api, route } from "./api.js";
import { h, relative } from "./dom.js";

export interface Action {
  readonly name: string;
  readonly label: string;
  readonly method: string;
  readonly path: string;
  /** Whether the API takes a reason (reimport takes no body fields). */
  readonly reason: "required" | "none";
  /** The body to send, given the reason and the form. */
  body(reason: string, form: FormData): unknown;
  readonly fields?: () => HTMLElement[];
  readonly danger?: boolean;
  /** False for routes that refuse an Idempotency-Key (approve, deny). */
  readonly idempotencyKey?: boolean;
}

function actions(key: KeyView): Action[] {
  const base = route("keys", key.id);
  const paused = key.status.state === "paused";
  return [
    {
      name: "reimport",
      label: "Re-import",
      method: "POST",
      path: `${base}/reimport`,
      reason: "none",
      body: () => ({}),
    },
    {
      name: "revoke",
      label: "Revoke",
      method: "POST",
      path: `${base}/revoke`,
      reason: "required",
      body: (reason) => ({ reason }),
      danger: true,
    },
    {
      name: "restore",
      label: "Restore",
      method: "POST",
      path: `${base}/restore`,
      reason: "required",
      body: (reason) => ({ reason }),
    },
    {
      name: "rotate",
      label: "Rotate",
      method: "POST",
      path: `${base}/rotate`,
      reason: "required",
      body: (reason) => ({ reason }),
    },
    {
      name: "policy",
      label: "Change policy",
      method: "PATCH",
      path: `${base}/policy`,
      reason: "required",
      fields: () => [
        h(
          "label",
          {},
          "validityPeriod ",
          h("input", { name: "validityPeriod", placeholder: key.policy.validityPeriod ?? "e.g. P30D" }),
        ),
        h(
          "label",
          {},
          "renewBefore ",
          h("input", { name: "renewBefore", placeholder: key.policy.renewBefore ?? "e.g. P7D" }),
        ),
      ],
      body: (reason, form) => {
        const patch: Record<string, string> = { reason };
        for (const field of ["validityPeriod", "renewBefore"]) {
          const value = String(form.get(field) ?? "").trim();
          if (value) patch[field] = value;
        }
        return patch;
      },
    },
    {
      name: "pause",
      label: paused ? "Resume" : "Pause",
      method: "PATCH",
      path: `${base}/policy`,
      reason: "required",
      body: (reason) => ({ paused: !paused, reason }),
    },
  ];
}

/**
 * The key page: record, each Region's live state, materials and rotations, paged history, actions. After an
 * action the page is drawn again from the API, keeping the action's answer (`output`) on top.
 */
export async function keyView(id: string, now: Date, kept?: HTMLElement): Promise<HTMLElement> {
  const answer = await api("GET", route("keys", id));
  if (!answer.ok) return h("section", {}, h("h1", {}, `Key ${id}`), answerBox(answer, `GET /keys/${id}`));
  const detail = answer.body as KeyDetailResponse;
  const key = detail.key;
  const output = kept ?? h("div", { id: "answer", role: "status", "aria-live": "polite", tabindex: -1 });
  const redraw = async () => {
    const fresh = await keyView(id, new Date(), output);
    section.replaceWith(fresh);
    output.focus();
  };
  const section = h(
    "section",
    { "aria-labelledby": "key-title" },
    h(
      "h1",
      { id: "key-title" },
      key.alias ?? key.id,
      " ",
      h("span", { class: `badge ${key.status.state}` }, key.status.state),
    ),
    h(
      "div",
      { class: "actions", role: "group", "aria-label": "Actions" },
      ...actions(key).map((action) =>
        h(
          "button",
          {
            type: "button",
            "data-action": action.name,
            class: action.danger ? "danger" : undefined,
            onclick: () => confirmAction(action, output, redraw),
          },
          action.label,
        ),
      ),
    ),
    output,
    recordList(key),
    regionsTable(detail, now),
    materialsSection(detail),
    await historySection(key.id),
  );
  return section;
}

function recordList(key: KeyView): HTMLElement {
  const rows: [string, string | undefined][] = [
    ["Id", key.id],
    ["Key ARN", key.keyArn],
    ["Spec", key.keySpec],
    ["Multi-Region", String(key.multiRegion)],
    ["Primary Region", key.primaryRegion],
    ["Material reference", key.materialRef],
    ["Check value", key.checkValue],
    [
      "Status",
      `${key.status.state}${key.status.reason ? ` — ${key.status.reason}` : ""}${key.status.actor ? ` (${key.status.actor})` : ""}`,
    ],
    ["Policy", JSON.stringify(key.policy)],
    ["Superseded by", key.supersededBy],
    ["Supersedes", key.supersedes],
    ["Version", String(key.version)],
    ["Created", key.createdAt],
    ["Updated", key.updatedAt],
  ];
  return h(
    "section",
    {},
    h("h2", {}, "Record"),
    h(
      "dl",
      { class: "record" },
      ...rows.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ),
  );
}

function regionsTable(detail: KeyDetailResponse, now: Date): HTMLElement {
  const record = new Map(detail.key.regions.map((r) => [r.region, r]));
  return h(
    "section",
    {},
    h("h2", {}, "Regions"),
    h(
      "table",
      { id: "regions" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...[
            "Region",
            "Live KMS state",
            "ValidTo (live)",
            "Last import",
            "Failures",
            "Next planned action",
            "Warm parameters",
          ].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        ...detail.regions.map((region) => {
          const rec = record.get(region.region);
          return h(
            "tr",
            { class: (rec?.consecutiveFailures ?? 0) > 0 ? "failing" : undefined },
            h("td", {}, region.region),
            h(
              "td",
              {},
              region.observed.error ? `error: ${region.observed.error}` : (region.observed.keyState ?? "—"),
            ),
            h(
              "td",
              {},
              region.observed.validTo
                ? `${region.observed.validTo} (${relative(region.observed.validTo, now)})`
                : "—",
            ),
            h("td", {}, rec?.lastImportedAt ?? "—"),
            h(
              "td",
              {},
              rec ? `${rec.consecutiveFailures}${rec.lastFailure ? `: ${rec.lastFailure}` : ""}` : "—",
            ),
            h(
              "td",
              {},
              `${region.nextAction.kind}: ${region.nextAction.summary} (${relative(region.nextAction.at, now)})`,
            ),
            h("td", {}, region.warmParameters ? "yes" : "no"),
          );
        }),
      ),
    ),
  );
}

function materialsSection(detail: KeyDetailResponse): HTMLElement {
  const key = detail.key;
  const materials = key.materials ?? [{ materialRef: key.materialRef, checkValue: key.checkValue }];
  return h(
    "section",
    {},
    h("h2", {}, "Materials and rotations"),
    h(
      "ol",
      {},
      ...materials.map((m) =>
        h(
          "li",
          {},
          `${m.materialRef} — check value ${m.checkValue}${m.keyMaterialId ? ` — ${m.keyMaterialId}` : ""}`,
        ),
      ),
    ),
    key.pendingRotation
      ? h("p", { class: "bad" }, `Rotation under way: ${JSON.stringify(key.pendingRotation)}`)
      : "",
    key.pendingSwap ? h("p", { class: "bad" }, `Key swap under way: ${JSON.stringify(key.pendingSwap)}`) : "",
    ...detail.regions
      .filter((r) => r.materials !== undefined)
      .map((r) =>
        h(
          "p",
          {},
          `${r.region} (KMS): `,
          (r.materials ?? [])
            .map((m) => `${m.keyMaterialId}${m.importState ? ` ${m.importState}` : ""}`)
            .join(", "),
        ),
      ),
  );
}

const HISTORY_PAGE = 20;

async function historySection(id: string): Promise<HTMLElement> {
  const list = h("tbody");
  const more = h("button", { type: "button", id: "history-more" }, "Older events");
  const status = h("p", { role: "status" });
  let nextToken: string | undefined;
  const load = async () => {
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE), ...(nextToken ? { nextToken } : {}) });
    const answer = await api("GET", `${route("keys", id, "history")}?${query}`);
    if (!answer.ok) {
      status.replaceChildren(answerBox(answer, "GET history"));
      return;
    }
    const page = answer.body as HistoryResponse;
    list.append(
      ...page.items.map((event) =>
        h(
          "tr",
          {},
          h("td", {}, event.time),
          h("td", {}, event.detailType),
          h("td", {}, event.region ?? ""),
          h("td", {}, event.actor),
          h("td", {}, event.summary ?? event.reason ?? event.errorName ?? ""),
        ),
      ),
    );
    nextToken = page.nextToken;
    more.hidden = nextToken === undefined;
    status.textContent = `${list.children.length} events${nextToken ? ", more available" : ""}`;
  };
  more.addEventListener("click", () => void load());
  await load();
  return h(
    "section",
    {},
    h("h2", {}, "History"),
    h(
      "table",
      { id: "history" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Time", "Event", "Region", "Actor", "Details"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      list,
    ),
    status,
    more,
  );
}

/** The API's answer as it gave it: status and body. */
export function answerBox(answer: ApiAnswer, what: string): HTMLElement {
  return h(
    "div",
    { class: answer.ok ? "answer ok" : "answer error" },
    h("p", {}, `${what}: HTTP ${answer.status}${answer.ok ? "" : " (error)"}`),
    h("pre", {}, typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body, null, 2)),
  );
}

/** A modal dialog asking for the reason (where the API takes one); sends the action only on confirm. */
export function confirmAction(action: Action, output: HTMLElement, redraw: () => Promise<void>) {
  const opener = document.activeElement as HTMLElement | null;
  const reason = h("textarea", {
    name: "reason",
    rows: 3,
    required: action.reason === "required",
    maxlength: 1000,
    id: "reason",
  });
  const dialog = h(
    "dialog",
    { "aria-labelledby": "dialog-title", id: "confirm" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "dialog-title" }, `${action.label}?`),
      action.reason === "required"
        ? h("label", { for: "reason" }, "Reason (recorded in the audit trail with your identity)")
        : h("p", {}, "The API records this action with your identity; it takes no reason."),
      action.reason === "required" ? reason : "",
      ...(action.fields?.() ?? []),
      h(
        "p",
        { class: "buttons" },
        h(
          "button",
          { type: "submit", value: "confirm", class: action.danger ? "danger" : undefined },
          action.label,
        ),
        " ",
        h("button", { type: "submit", value: "cancel", formnovalidate: true }, "Cancel"),
      ),
    ),
  );
  document.body.append(dialog);
  dialog.addEventListener("close", async () => {
    const form = new FormData(dialog.querySelector("form") as HTMLFormElement);
    dialog.remove();
    opener?.focus();
    if (dialog.returnValue !== "confirm") return;
    output.replaceChildren(h("p", {}, `${action.label}: sending…`));
    const answer = await api(
      action.method,
      action.path,
      action.body(String(form.get("reason") ?? "").trim(), form),
      { idempotencyKey: action.idempotencyKey !== false },
    );
    output.replaceChildren(answerBox(answer, `${action.method} ${action.path}`));
    output.focus();
    if (answer.ok) await redraw();
  });
  dialog.showModal();
  (action.reason === "required" ? reason : (dialog.querySelector("button") as HTMLElement)).focus();
}
