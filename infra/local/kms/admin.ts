/**
 * The admin interface under `/_admin/...` (JSON): the clock, faults and quotas, Region loss, stats,
 * emitted events, CloudTrail delivery settings and records, caller identities, the local STS's roles, and reset. Not part of KMS; tests and `npm start` use it through KmsAdmin.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccountStores } from "./accounts.js";
import type { EmulatorClock } from "./clock.js";
import { type CallerIdentities, CallerIdentityError } from "./cloudtrail/identities.js";
import { type CloudTrail, type CloudTrailSettings, CloudTrailSettingsError } from "./cloudtrail/trail.js";
import { KmsApiError } from "./errors.js";
import type { EventPublisher } from "./events.js";
import { FAULT_ERRORS, type FaultInjector, type FaultSpec, type QuotaConfig } from "./faults.js";
import { loseRegionMaterial } from "./lifecycle.js";
import { RoleDefinitionError } from "./sts/roles.js";
import type { LocalSts } from "./sts/service.js";
import { parseJsonObject, readBody, sendJson } from "./wire.js";

export interface AdminDeps {
  /** Every account's keys (a Region's loss and a reset reach them all). */
  stores: AccountStores;
  clock: EmulatorClock;
  faults: FaultInjector;
  events: EventPublisher;
  trail: CloudTrail;
  identities: CallerIdentities;
  /** The local STS's roles (`/_admin/roles`). */
  sts: LocalSts;
  /** Applies what is due now and persists; called after anything that changes state or time. */
  settle(): Promise<void>;
}

class AdminInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminInputError";
  }
}

function clockView(clock: EmulatorClock) {
  const now = clock.now();
  return { now: new Date(now).toISOString(), epochMs: now, offsetMs: clock.offset };
}

function num(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new AdminInputError(`${field} must be a number`);
  return v;
}

function faultSpec(body: Record<string, unknown>): FaultSpec {
  const spec: FaultSpec = {};
  if (body.operation !== undefined) spec.operation = String(body.operation);
  if (body.region !== undefined) spec.region = String(body.region);
  if (body.account !== undefined) {
    if (!/^(\d{12}|\*)$/.test(String(body.account))) {
      throw new AdminInputError("account must be a 12-digit account id or *");
    }
    spec.account = String(body.account);
  }
  if (body.error !== undefined) {
    if (!FAULT_ERRORS.includes(body.error as (typeof FAULT_ERRORS)[number])) {
      throw new AdminInputError(`error must be one of ${FAULT_ERRORS.join(", ")}`);
    }
    spec.error = body.error as FaultSpec["error"];
  }
  spec.count = num(body, "count");
  spec.probability = num(body, "probability");
  spec.latencyMs = num(body, "latencyMs");
  if (spec.error && spec.count === undefined && spec.probability === undefined) {
    throw new AdminInputError("a fault with an error needs count or probability");
  }
  if (!spec.error && !spec.latencyMs) throw new AdminInputError("a fault needs an error or latencyMs");
  return spec;
}

/** Handles one admin request; returns false when the path is not an admin path. */
export async function handleAdmin(
  deps: AdminDeps,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (!url.pathname.startsWith("/_admin/")) return false;
  const route = `${req.method ?? "GET"} ${url.pathname}`;
  const ok = (body: unknown) => sendJson(res, 200, body, requestId, "application/json");
  try {
    const body = req.method === "GET" || req.method === "DELETE" ? {} : parseJsonObject(await readBody(req));
    const lose = /^POST \/_admin\/regions\/([a-z0-9-]+)\/lose-material$/.exec(route);
    if (lose?.[1]) {
      // Whether a region-wide failure takes outstanding import tokens with it is not documented by AWS.
      // What is documented is that a set stays valid for 24 hours
      // (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html), so that is
      // the default; `invalidateImportTokens: true` models the undocumented case, every token issued in the
      // Region before the loss refused afterwards. Tether must handle both, and its tests run both.
      const invalidate = body.invalidateImportTokens ?? false;
      if (typeof invalidate !== "boolean")
        throw new AdminInputError("invalidateImportTokens must be a boolean");
      // A Region's failure is the Region's, whatever the account.
      const keyIds = deps.stores.all().flatMap((store) => loseRegionMaterial(store, lose[1] as string));
      if (invalidate) for (const store of deps.stores.all()) store.invalidateImportTokens(lose[1]);
      await deps.settle();
      ok({ region: lose[1], keyIds, importTokensInvalidated: invalidate });
      return true;
    }
    switch (route) {
      case "GET /_admin/health":
        ok({ ok: true });
        return true;
      case "GET /_admin/clock":
        ok(clockView(deps.clock));
        return true;
      case "POST /_admin/clock": {
        const offsetMs = num(body, "offsetMs");
        const advanceMs = num(body, "advanceMs");
        const nowValue = body.now;
        if (offsetMs !== undefined) deps.clock.setOffset(offsetMs);
        if (advanceMs !== undefined) deps.clock.advance(advanceMs);
        if (nowValue !== undefined) {
          const epoch = typeof nowValue === "number" ? nowValue : Date.parse(String(nowValue));
          if (!Number.isFinite(epoch)) throw new AdminInputError("now must be an ISO date or epoch ms");
          deps.clock.set(epoch);
        }
        await deps.settle();
        ok(clockView(deps.clock));
        return true;
      }
      case "POST /_admin/faults":
        deps.faults.inject(faultSpec(body));
        ok({ ok: true });
        return true;
      case "DELETE /_admin/faults":
        deps.faults.clearFaults();
        ok({ ok: true });
        return true;
      case "PUT /_admin/quotas": {
        if (body.enabled === false) deps.faults.setQuotas(false);
        else {
          const config: QuotaConfig = {};
          if (body.limits !== undefined) {
            if (typeof body.limits !== "object" || body.limits === null)
              throw new AdminInputError("limits must be an object");
            config.limits = body.limits as Record<string, number>;
          }
          config.windowMs = num(body, "windowMs");
          deps.faults.setQuotas(config);
        }
        ok({ ok: true });
        return true;
      }
      case "GET /_admin/stats":
        ok(deps.faults.getStats());
        return true;
      case "DELETE /_admin/stats":
        deps.faults.resetStats();
        ok({ ok: true });
        return true;
      case "GET /_admin/cloudtrail":
        ok({ settings: deps.trail.settings(), records: deps.trail.entries() });
        return true;
      case "PUT /_admin/cloudtrail": {
        const settings = deps.trail.configure(body as CloudTrailSettings);
        await deps.settle();
        ok({ settings });
        return true;
      }
      case "DELETE /_admin/cloudtrail":
        deps.trail.clear();
        deps.trail.resetSettings();
        ok({ ok: true });
        return true;
      case "GET /_admin/identities":
        ok({ identities: deps.identities.list() });
        return true;
      case "POST /_admin/identities":
        deps.identities.register({ accessKeyId: body.accessKeyId as string, arn: body.arn as string });
        ok({ ok: true });
        return true;
      case "GET /_admin/roles":
        ok({ roles: deps.sts.listRoles() });
        return true;
      case "PUT /_admin/roles": {
        const role = await deps.sts.putRole({
          arn: body.arn as string,
          trustPolicy: body.trustPolicy,
          ...(body.permissionPolicy === undefined ? {} : { permissionPolicy: body.permissionPolicy }),
          ...(body.maxSessionDurationSeconds === undefined
            ? {}
            : { maxSessionDurationSeconds: num(body, "maxSessionDurationSeconds") as number }),
        });
        ok({ arn: role.arn, accountId: role.accountId });
        return true;
      }
      case "DELETE /_admin/roles": {
        const arn = url.searchParams.get("arn") ?? "";
        ok({ deleted: await deps.sts.deleteRole(arn) });
        return true;
      }
      case "GET /_admin/events":
        ok({ events: deps.events.emitted });
        return true;
      case "POST /_admin/reset":
        deps.stores.clear();
        deps.sts.clear();
        deps.faults.reset();
        deps.clock.setOffset(0);
        deps.events.emitted.length = 0;
        deps.trail.clear();
        deps.trail.resetSettings();
        await deps.settle();
        ok({ ok: true });
        return true;
      default:
        sendJson(res, 404, { error: `no admin route ${route}` }, requestId, "application/json");
        return true;
    }
  } catch (err) {
    const bad =
      err instanceof AdminInputError ||
      err instanceof KmsApiError ||
      err instanceof CloudTrailSettingsError ||
      err instanceof CallerIdentityError ||
      err instanceof RoleDefinitionError;
    const message = bad ? (err as Error).message : "admin request failed";
    sendJson(res, bad ? 400 : 500, { error: message }, requestId, "application/json");
    return true;
  }
}
