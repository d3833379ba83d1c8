import type { z } from "zod";
import type {
  AccountListResponse as AccountListSchema,
  AccountView as AccountSchema,
} from "../../api/response-schemas.js";
import { api } from "./api.js";
import { h, relative } from "./dom.js";
import { answerBox } from "./key-view.js";

type AccountListResponse = z.infer<typeof AccountListSchema>;
type AccountView = z.infer<typeof AccountSchema>;

/**
 * The member accounts (README "Member accounts"), read only: who each is, its role, and what the check on
 * add found and when. Accounts are added, checked again and removed with the CLI (`tether accounts`); the
 * console's server lets nothing but GET through to /accounts.
 */
export async function accountsView(now: Date): Promise<HTMLElement> {
  const answer = await api("GET", "/accounts");
  const body = answer.ok
    ? accountsTable((answer.body as AccountListResponse).items, now)
    : answer.status === 404
      ? h("p", { id: "accounts-unavailable" }, "This deployment has no member accounts configured.")
      : answerBox(answer, "GET /accounts");
  return h(
    "section",
    { "aria-labelledby": "accounts-title" },
    h("h1", { id: "accounts-title" }, "Member accounts"),
    h(
      "p",
      {},
      "Accounts whose keys this deployment (the hub) keeps alive through their member role. Read only: ",
      h("code", {}, "tether accounts add|remove"),
      " changes them.",
    ),
    body,
  );
}

function accountsTable(items: readonly AccountView[], now: Date): HTMLElement {
  if (items.length === 0) return h("p", { id: "accounts-empty" }, "No member accounts registered.");
  const failing = items.filter((account) => !checkPassed(account)).length;
  return h(
    "table",
    { id: "accounts" },
    h("caption", {}, `${items.length} member account${items.length === 1 ? "" : "s"}, ${failing} failing`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Account", "Name", "Role", "Status", "Last check", "Missing", "Added"].map((title) =>
          h("th", { scope: "col" }, title),
        ),
      ),
    ),
    h("tbody", {}, ...items.map((account) => accountRow(account, now))),
  );
}

/** The check on add passed: the role was assumed and KMS answered, nothing missing. */
function checkPassed(account: AccountView): boolean {
  return account.check.missing.length === 0 && account.check.assumeRole.ok && account.check.kms?.ok === true;
}

function accountRow(account: AccountView, now: Date): HTMLElement {
  const ok = checkPassed(account);
  return h(
    "tr",
    { "data-account": account.accountId, class: ok ? undefined : "failing" },
    h("td", {}, account.accountId),
    h("td", {}, account.name ?? "—"),
    h("td", { class: "arn" }, account.roleArn),
    h("td", {}, h("span", { class: `badge check-${ok ? "ok" : "failing"}` }, ok ? "ok" : "failing")),
    h("td", { title: account.check.checkedAt }, relative(account.check.checkedAt, now)),
    h(
      "td",
      {},
      account.check.missing.length === 0
        ? "—"
        : h("ul", { class: "missing" }, ...account.check.missing.map((m) => h("li", {}, m))),
    ),
    h("td", { title: `${account.addedAt} by ${account.addedBy}` }, relative(account.addedAt, now)),
  );
}
