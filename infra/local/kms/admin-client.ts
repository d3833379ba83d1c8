/**
 * Typed client of the emulator's admin interface (`/_admin/...`), for tests and the local runner.
 * It talks HTTP only, so it works against an emulator in another process too.
 */

import type { CallerIdentity } from "./cloudtrail/identities.js";
import type { CloudTrailConfig, CloudTrailSettings, TrailEntry } from "./cloudtrail/trail.js";
import type { ServiceEvent } from "./events.js";
import type { FaultSpec, KmsStats, QuotaConfig } from "./faults.js";

export type { CallerIdentity } from "./cloudtrail/identities.js";
export type { CloudTrailConfig, CloudTrailSettings, TrailEntry } from "./cloudtrail/trail.js";
export type { ServiceEvent } from "./events.js";
export type { FaultSpec, KmsStats, QuotaConfig } from "./faults.js";

export interface ClockView {
  /** ISO 8601 of the emulator's now. */
  now: string;
  epochMs: number;
  offsetMs: number;
}

/** Thrown when the admin interface answers with an error. */
export class KmsAdminError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KmsAdminError";
  }
}

export class KmsAdmin {
  constructor(private readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/_admin${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : {};
    if (!res.ok) {
      const message = (parsed as { error?: string }).error ?? `HTTP ${res.status}`;
      throw new KmsAdminError(`${method} /_admin${path}: ${message}`, res.status);
    }
    return parsed as T;
  }

  /** The emulator's clock. */
  clock(): Promise<ClockView> {
    return this.call("GET", "/clock");
  }

  /** The emulator's now as a Date. */
  async now(): Promise<Date> {
    return new Date((await this.clock()).epochMs);
  }

  /** Moves the clock forward; expiry due by then is processed before this resolves. */
  advanceClock(ms: number): Promise<ClockView> {
    return this.call("POST", "/clock", { advanceMs: ms });
  }

  /** Sets the clock so that now reads `date`. */
  setClock(date: Date): Promise<ClockView> {
    return this.call("POST", "/clock", { now: date.toISOString() });
  }

  setClockOffset(offsetMs: number): Promise<ClockView> {
    return this.call("POST", "/clock", { offsetMs });
  }

  /**
   * A Region-wide failure: every imported material in `region` is gone, keys PendingImport, no event.
   * `invalidateImportTokens` (default false: they keep working until their ParametersValidTo, as AWS
   * documents a set's validity): true refuses every import token issued in the Region before the loss
   * (InvalidImportTokenException), the case AWS does not document either way.
   */
  async loseRegion(region: string, options: { invalidateImportTokens?: boolean } = {}): Promise<string[]> {
    return (
      await this.call<{ keyIds: string[] }>(
        "POST",
        `/regions/${region}/lose-material`,
        options.invalidateImportTokens === undefined
          ? {}
          : { invalidateImportTokens: options.invalidateImportTokens },
      )
    ).keyIds;
  }

  /** Injects errors (next `count` calls, or with `probability`) and/or latency, per operation and Region. */
  async injectFault(spec: FaultSpec): Promise<void> {
    await this.call("POST", "/faults", spec);
  }

  async clearFaults(): Promise<void> {
    await this.call("DELETE", "/faults");
  }

  /** Turns request quotas on (AWS's defaults, overridable) or off (`false`). */
  async setQuotas(config: QuotaConfig | false): Promise<void> {
    await this.call("PUT", "/quotas", config === false ? { enabled: false } : config);
  }

  stats(): Promise<KmsStats> {
    return this.call("GET", "/stats");
  }

  async resetStats(): Promise<void> {
    await this.call("DELETE", "/stats");
  }

  /** Every service event the emulator emitted (whether or not a bus received it). */
  async events(): Promise<ServiceEvent[]> {
    return (await this.call<{ events: ServiceEvent[] }>("GET", "/events")).events;
  }

  /**
   * How CloudTrail records travel from now on: `delayMs` (emulator clock) before EventBridge delivery,
   * `dropRate` / `drop: true` to lose them on the way to EventBridge; `lookupDelayMs` (default: delayMs)
   * and `lookupDropRate` / `lookupDrop` for LookupEvents' event history. Returns the settings in force.
   */
  async setCloudTrail(settings: CloudTrailSettings): Promise<CloudTrailConfig> {
    return (await this.call<{ settings: CloudTrailConfig }>("PUT", "/cloudtrail", settings)).settings;
  }

  /** The settings in force and every record kept (delivered, due or dropped), oldest first. */
  cloudTrail(): Promise<{ settings: CloudTrailConfig; records: TrailEntry[] }> {
    return this.call("GET", "/cloudtrail");
  }

  /** Forgets every CloudTrail record and restores the default settings. */
  async clearCloudTrail(): Promise<void> {
    await this.call("DELETE", "/cloudtrail");
  }

  /** Records calls signed with `accessKeyId` as `arn` (an IAM user or an assumed-role session). */
  async registerIdentity(identity: CallerIdentity): Promise<void> {
    await this.call("POST", "/identities", identity);
  }

  /**
   * Creates or replaces a role of the local STS (`arn:aws:iam::<account>:role/<name>`) with its trust policy
   * (the IAM document; the subset infra/local/kms/sts/roles.ts evaluates). AssumeRole on it then issues
   * credentials that act in that account. With `permissionPolicy` (a document or a list of them: for a member
   * role, infra/local/iam/member-role.ts renders the member template's), every KMS and CloudTrail call those
   * credentials make is evaluated against it and refused with AccessDeniedException when IAM would refuse it;
   * without, they may do anything in the account.
   */
  async putRole(role: {
    arn: string;
    trustPolicy: unknown;
    permissionPolicy?: unknown;
    maxSessionDurationSeconds?: number;
  }): Promise<{ arn: string; accountId: string }> {
    return this.call("PUT", "/roles", role);
  }

  /** Deletes a role of the local STS (its live sessions run until they expire, as IAM's). */
  async deleteRole(arn: string): Promise<boolean> {
    const { deleted } = await this.call<{ deleted: boolean }>(
      "DELETE",
      `/roles?arn=${encodeURIComponent(arn)}`,
    );
    return deleted;
  }

  /** The local STS's roles. */
  async roles(): Promise<
    Array<{ arn: string; accountId: string; trustPolicy: unknown; permissionPolicies?: unknown[] }>
  > {
    const { roles } = await this.call<{
      roles: Array<{ arn: string; accountId: string; trustPolicy: unknown; permissionPolicies?: unknown[] }>;
    }>("GET", "/roles");
    return roles;
  }

  /** Forgets every key and alias (in every account), role, fault, quota, stat, event and CloudTrail record, and resets the clock. */
  async reset(): Promise<void> {
    await this.call("POST", "/reset", {});
  }
}
