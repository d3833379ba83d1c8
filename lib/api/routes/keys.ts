/** The key collection and one key: list, register, show, stop managing. */

import { unmanageKey } from "../../lifecycle/use-cases/key-admin.js";
import { listKeys, showKey } from "../../lifecycle/use-cases/queries.js";
import { checkAdoption, registerKey } from "../../lifecycle/use-cases/register.js";
import { Access, defineRoute } from "../route.js";
import { keyDetailView, keyView, outcomesView } from "../views.js";

export const listKeysRoute = defineRoute({
  method: "GET",
  path: "/keys",
  operationId: "listKeys",
  summary:
    "List managed keys. Filters (status, expiringBefore, account) apply to each page read, so a filtered page may be short or empty and still carry a nextToken.",
  access: Access.Read,
  query: (s) => s.ListKeysQuery,
  response: { status: 200, description: "A page of keys", schema: (s) => s.KeyListResponse },
  errors: [400, 403],
  async handle({ deps, query }) {
    const page = await listKeys(deps, {
      limit: query.limit,
      nextToken: query.nextToken,
      status: query.status,
      account: query.account,
      expiringBefore: query.expiringBefore === undefined ? undefined : new Date(query.expiringBefore),
    });
    return {
      status: 200,
      body: {
        items: page.items.map(keyView),
        ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }),
      },
    };
  },
});

export const registerKeyRoute = defineRoute({
  method: "POST",
  path: "/keys",
  operationId: "registerKey",
  summary: "Register a key: create a new EXTERNAL key or adopt an existing one, and import its material.",
  access: Access.Admin,
  body: (s) => s.RegisterKeyBody,
  bodyRequired: true,
  idempotent: true,
  response: {
    status: 201,
    description: "The key, registered, and what the import did per Region",
    schema: (s) => s.KeyActionResponse,
  },
  errors: [400, 403, 409, 413, 415],
  async handle({ deps, body, caller, requestId }) {
    const result = await registerKey(deps, { ...body, actor: caller, correlationId: requestId });
    return {
      status: 201,
      headers: { location: `/keys/${result.key.id}` },
      body: { key: keyView(result.key), regions: outcomesView(result.regions) },
    };
  },
});

export const checkAdoptionRoute = defineRoute({
  method: "POST",
  path: "/keys/check",
  operationId: "checkAdoption",
  summary:
    "Dry run of an adoption (the body of POST /keys with mode adopt): every check registration makes before it changes anything (key exists, is EXTERNAL and not managed yet, replicas exist, the vault holds material that can serve it, the check value matches), changing nothing. 200 when registering would go ahead; otherwise the error registering would give.",
  access: Access.Admin,
  body: (s) => s.AdoptKeyBody,
  bodyRequired: true,
  response: {
    status: 200,
    description: "The adoption would be accepted; nothing was changed",
    schema: (s) => s.AdoptionCheckResponse,
  },
  errors: [400, 403, 409, 413, 415],
  async handle({ deps, body }) {
    const check = await checkAdoption(deps, body);
    return { status: 200, body: { ok: true, ...check, regions: [...check.regions] } };
  },
});

export const showKeyRoute = defineRoute({
  method: "GET",
  path: "/keys/{id}",
  operationId: "showKey",
  summary: "A managed key, each Region's live DescribeKey, and the next planned action and when.",
  access: Access.Read,
  response: { status: 200, description: "The key and its Regions", schema: (s) => s.KeyDetailResponse },
  errors: [400, 403, 404],
  async handle({ deps, params }) {
    return { status: 200, body: keyDetailView(await showKey(deps, params.id ?? "")) };
  },
});

export const unmanageKeyRoute = defineRoute({
  method: "DELETE",
  path: "/keys/{id}",
  operationId: "unmanageKey",
  summary:
    "Stop managing a key. The KMS key and its material are left as they are, without Tether's tether:managed-by mark; the history stays.",
  access: Access.Admin,
  body: (s) => s.UnmanageBody,
  response: { status: 200, description: "The key is no longer managed", schema: (s) => s.UnmanageResponse },
  errors: [400, 403, 404, 413, 415],
  async handle({ deps, params, body, caller, requestId }) {
    const result = await unmanageKey(deps, {
      key: params.id ?? "",
      actor: caller,
      correlationId: requestId,
      reason: body.reason,
    });
    return { status: 200, body: { ...result, unmanaged: true } };
  },
});
