import type { OperationListResponse, OperationView } from "../../api/response-schemas.js";
import { api, route } from "./api.js";
import { h, relative } from "./dom.js";
import { type Action, answerBox, confirmAction } from "./key-view.js";

/**
 * Dual control's pending operation requests (README "Dual control"): what, on which key, who asked and why,
 * until when; Approve and Deny ask for the reason and show the API's answer as given — the requester's own
 * approval is refused there (409), not guessed here.
 */
export async function approvalsView(now: Date, kept?: HTMLElement): Promise<HTMLElement> {
  const output = kept ?? h("div", { id: "answer", role: "status", "aria-live": "polite", tabindex: -1 });
  const redraw = async () => {
    section.replaceWith(await approvalsView(new Date(), output));
    output.focus();
  };
  const answer = await api("GET", "/operations?state=pending&limit=100");
  const list = answer.body as OperationListResponse;
  const body = answer.ok
    ? operationsTable(list.items, now, output, redraw)
    : answerBox(answer, "GET /operations");
  // The state filter applies per page read: a short page may still have more behind it.
  const more =
    answer.ok && list.nextToken !== undefined
      ? h("p", {}, "More requests may be pending: tether ops list --state pending pages through them all.")
      : "";
  const section = h(
    "section",
    { "aria-labelledby": "approvals-title" },
    h("h1", { id: "approvals-title" }, "Approvals"),
    h(
      "p",
      {},
      "Operations held for another admin's approval (dual control). The console signs as you: your own request cannot be approved by you.",
    ),
    output,
    body,
    more,
  );
  return section;
}

function operationsTable(
  items: readonly OperationView[],
  now: Date,
  output: HTMLElement,
  redraw: () => Promise<void>,
): HTMLElement {
  if (items.length === 0) return h("p", { id: "operations-empty" }, "No pending requests.");
  return h(
    "table",
    { id: "operations" },
    h("caption", {}, `${items.length} pending`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Operation", "Key", "Requested by", "Reason", "Approvals", "Expires", ""].map((title) =>
          h("th", { scope: "col" }, title),
        ),
      ),
    ),
    h("tbody", {}, ...items.map((op) => operationRow(op, now, output, redraw))),
  );
}

function operationRow(
  op: OperationView,
  now: Date,
  output: HTMLElement,
  redraw: () => Promise<void>,
): HTMLElement {
  const decide = (name: "approve" | "deny", label: string): HTMLElement => {
    const action: Action = {
      name,
      label: `${label} ${op.operation} of ${op.keyId}`,
      method: "POST",
      path: `${route("operations", op.id)}/${name}`,
      reason: "required",
      body: (reason) => ({ reason }),
      danger: name === "approve",
      idempotencyKey: false, // these routes refuse one: a person approves once, whatever the retries
    };
    return h(
      "button",
      { type: "button", "data-action": name, onclick: () => confirmAction(action, output, redraw) },
      label,
    );
  };
  return h(
    "tr",
    { "data-operation": op.id },
    h("td", {}, op.operation, op.emergency ? " (emergency)" : ""),
    h("td", {}, h("a", { href: `#/keys/${encodeURIComponent(op.keyId)}` }, op.keyId)),
    h("td", {}, op.requestedBy),
    h("td", {}, op.reason),
    h("td", {}, `${op.approvalsCounted + 1} of ${op.quorum}`),
    h("td", { title: op.expiresAt }, relative(op.expiresAt, now)),
    h("td", { class: "actions" }, decide("approve", "Approve"), " ", decide("deny", "Deny")),
  );
}
