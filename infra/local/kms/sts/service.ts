/**
 * The local STS: AssumeRole for the local roles (roles.ts) and GetCallerIdentity, over STS's query protocol
 * (`POST /`, form-encoded `Action=...&Version=2011-06-15`, XML answers), served on the KMS emulator's port so
 * `@aws-sdk/client-sts` works against it with an endpoint override. The temporary credentials it issues are
 * registered as the member role's session, so a KMS call signed with them acts in the role's account.
 *
 * Refused as STS refuses (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html):
 * - a role that does not exist, a trust policy that does not name the caller, a wrong or missing ExternalId
 *   the trust requires: `AccessDenied` (403), "User: <caller> is not authorized to perform: sts:AssumeRole on
 *   resource: <role>" (STS does not say which: a missing role looks the same as a refused trust);
 * - parameters out of their documented range: `ValidationError` (400): RoleSessionName 2..64 of [\w+=,.@-],
 *   ExternalId 2..1224 of [\w+=,.@:/-], DurationSeconds 900..the role's MaxSessionDuration, and at most 3600
 *   when the caller is itself a role session (role chaining:
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining).
 * Sessions end at their Expiration on the emulator's clock; a KMS call signed with an expired session is
 * refused with `ExpiredTokenException`.
 */
import { randomBytes } from "node:crypto";
import type { PolicyCaller } from "../authorize.js";
import type { CallerIdentities } from "../cloudtrail/identities.js";
import { PermissionPolicies } from "./permissions.js";
import {
  defineRole,
  type LocalRole,
  principalOf,
  type RoleDefinition,
  RoleDefinitionError,
  trustAllows,
} from "./roles.js";

export class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "StsError";
  }
}

export interface IssuedCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: Date;
  AssumedRoleArn: string;
  AssumedRoleId: string;
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

const validation = (message: string) => new StsError("ValidationError", message, 400);
const constraint = (value: string, member: string, rule: string) =>
  validation(
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`,
  );

function token(prefix: string, bytes: number): string {
  return `${prefix}${randomBytes(bytes)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "")
    .toUpperCase()}`;
}

export class LocalSts {
  private readonly roles = new Map<string, LocalRole>();
  /** Each role's compiled permission policies (roles with none have no entry). */
  private readonly permissions = new Map<string, PermissionPolicies>();
  /** Access key id → when the session ends (emulator epoch ms) and whose session it is. */
  private readonly sessions = new Map<string, { end: number; roleArn: string; sessionArn: string }>();

  constructor(private readonly identities: CallerIdentities) {}

  /** @throws RoleDefinitionError naming the bad field (a permission policy the simulator refuses too) */
  async putRole(definition: RoleDefinition): Promise<LocalRole> {
    const role = defineRole(definition);
    const policies =
      role.permissionPolicies === undefined
        ? undefined
        : await PermissionPolicies.compile(role.permissionPolicies).catch((err: unknown) => {
            throw new RoleDefinitionError((err as Error).message);
          });
    this.roles.set(role.arn, role);
    this.orphaned.delete(role.arn);
    if (policies === undefined) this.permissions.delete(role.arn);
    else this.permissions.set(role.arn, policies);
    return role;
  }

  /**
   * The caller as its role's permission policies see it, when `accessKeyId` is a session of a role that
   * has them; undefined when it is not a session, or its role has none (it may do anything in its account).
   * A role deleted since the session was issued has no policies left to allow anything: its session is
   * refused everything if the role had policies when it was deleted.
   */
  policyCaller(accessKeyId: string): PolicyCaller | undefined {
    const session = this.sessions.get(accessKeyId);
    if (session === undefined) return undefined;
    const policies = this.permissions.get(session.roleArn) ?? this.orphaned.get(session.roleArn);
    if (policies === undefined) return undefined;
    return {
      sessionArn: session.sessionArn,
      roleArn: session.roleArn,
      accountId: principalOf(session.sessionArn).accountId,
      policies,
    };
  }

  /** Roles deleted while they had permission policies: an empty policy set stands for them. */
  private readonly orphaned = new Map<string, PermissionPolicies>();

  /** Deletes a role; its sessions stay valid until they expire, as IAM's do. Returns whether it existed. */
  async deleteRole(arn: string): Promise<boolean> {
    if (this.permissions.delete(arn))
      this.orphaned.set(arn, await PermissionPolicies.compile([{ Version: "2012-10-17", Statement: [] }]));
    return this.roles.delete(arn);
  }

  listRoles(): Array<Omit<LocalRole, "statements">> {
    return [...this.roles.values()].map(({ statements: _s, ...role }) => role);
  }

  /** Whether `accessKeyId` is a session this STS issued that has ended by `now`. */
  expired(accessKeyId: string, now: number): boolean {
    const end = this.sessions.get(accessKeyId)?.end;
    return end !== undefined && end <= now;
  }

  clear(): void {
    this.roles.clear();
    this.permissions.clear();
    this.orphaned.clear();
    this.sessions.clear();
  }

  /** @throws StsError with STS's code and status */
  assumeRole(callerArn: string, params: URLSearchParams, now: number): IssuedCredentials {
    const roleArn = params.get("RoleArn");
    const sessionName = params.get("RoleSessionName");
    if (!roleArn)
      throw validation(
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
      );
    if (sessionName === null)
      throw validation(
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
      );
    if (!SESSION_NAME.test(sessionName))
      throw constraint(
        sessionName,
        "roleSessionName",
        "Member must satisfy regular expression pattern: [\\w+=,.@-]* and length 2..64",
      );
    const externalId = params.get("ExternalId") ?? undefined;
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId))
      throw constraint(
        externalId,
        "externalId",
        "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* and length 2..1224",
      );
    const duration = Number(params.get("DurationSeconds") ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200)
      throw constraint(
        String(params.get("DurationSeconds")),
        "durationSeconds",
        "Member must have value between 900 and 43200",
      );
    const role = this.roles.get(roleArn);
    if (!role || !trustAllows(role, { arn: callerArn }, externalId)) {
      throw new StsError(
        "AccessDenied",
        `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    }
    if (principalOf(callerArn).roleSession && duration > 3600)
      throw validation(
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
      );
    if (duration > role.maxSessionDurationSeconds)
      throw validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    const accessKeyId = token("ASIA", 12).slice(0, 20);
    const assumedRoleArn = `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`;
    this.identities.register({ accessKeyId, arn: assumedRoleArn });
    this.sessions.set(accessKeyId, {
      end: now + duration * 1000,
      roleArn: role.arn,
      sessionArn: assumedRoleArn,
    });
    return {
      AccessKeyId: accessKeyId,
      SecretAccessKey: randomBytes(30).toString("base64"),
      SessionToken: randomBytes(96).toString("base64"),
      Expiration: new Date(now + duration * 1000),
      AssumedRoleArn: assumedRoleArn,
      AssumedRoleId: `${token("AROA", 12).slice(0, 21)}:${sessionName}`,
    };
  }
}

const NS = "https://sts.amazonaws.com/doc/2011-06-15/";

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function assumeRoleXml(c: IssuedCredentials, requestId: string): string {
  return `<AssumeRoleResponse xmlns="${NS}"><AssumeRoleResult><Credentials><AccessKeyId>${c.AccessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(c.SecretAccessKey)}</SecretAccessKey><SessionToken>${xmlEscape(c.SessionToken)}</SessionToken><Expiration>${c.Expiration.toISOString()}</Expiration></Credentials><AssumedRoleUser><Arn>${xmlEscape(c.AssumedRoleArn)}</Arn><AssumedRoleId>${xmlEscape(c.AssumedRoleId)}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`;
}

export function callerIdentityXml(arn: string, accessKeyId: string, requestId: string): string {
  const { accountId } = principalOf(arn);
  return `<GetCallerIdentityResponse xmlns="${NS}"><GetCallerIdentityResult><Arn>${xmlEscape(arn)}</Arn><UserId>${xmlEscape(accessKeyId)}</UserId><Account>${accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
}

export function errorXml(error: StsError, requestId: string): string {
  const type = error.status >= 500 ? "Receiver" : "Sender";
  return `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
