/**
 * The local IAM identities: the runner verifies SigV4 signatures against these and fills API Gateway's IAM
 * authorizer context with them; the CLI, the demo and the tests sign with them. Local only — these
 * secrets are published on purpose and mean nothing outside `npm start`.
 */

/** The local stack's home Region by default: where its API, functions and schedule run. */
export const LOCAL_REGION = "eu-west-1";
/**
 * The Regions the local stack serves by default (`TETHER_REGIONS` of its functions): the home Region first,
 * then one for Multi-Region replicas. `npm start -- --regions` (or TETHER_LOCAL_REGIONS) chooses others.
 */
export const DEFAULT_LOCAL_REGIONS: readonly string[] = [LOCAL_REGION, "eu-central-1"];
export const LOCAL_ACCOUNT_ID = "111122223333";

export interface LocalIdentity {
  readonly name: "admin" | "admin2" | "reader" | "agent";
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** What API Gateway puts in `requestContext.authorizer.iam.userArn`. */
  readonly principalArn: string;
  /** The IAM user's unique id (`AIDA…`), API Gateway's `userId` and `callerId`. */
  readonly userId: string;
}

export const LOCAL_ADMIN: LocalIdentity = {
  name: "admin",
  accessKeyId: "LOCALADMINKEY0000001",
  secretAccessKey: "local-admin-secret",
  principalArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/tether-local-admin`,
  userId: "AIDALOCALADMIN000001",
};

/**
 * A second admin, another person than LOCAL_ADMIN: with dual control on (`npm start` with
 * TETHER_LOCAL_APPROVALS), one admin asks and this one approves (README "Dual control").
 */
export const LOCAL_ADMIN_2: LocalIdentity = {
  name: "admin2",
  accessKeyId: "LOCALADMINKEY0000002",
  secretAccessKey: "local-admin2-secret",
  principalArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/tether-local-admin2`,
  userId: "AIDALOCALADMIN000002",
};

export const LOCAL_READER: LocalIdentity = {
  name: "reader",
  accessKeyId: "LOCALREADERKEY000001",
  secretAccessKey: "local-reader-secret",
  principalArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/tether-local-reader`,
  userId: "AIDALOCALREADER00001",
};

/** The vault agent's identity (`npm start -- --agent`; TETHER_AGENT_PRINCIPALS): the agent routes only. */
export const LOCAL_AGENT: LocalIdentity = {
  name: "agent",
  accessKeyId: "LOCALAGENTKEY0000001",
  secretAccessKey: "local-agent-secret",
  principalArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/tether-local-vault-agent`,
  userId: "AIDALOCALAGENT000001",
};

export const LOCAL_IDENTITIES: readonly LocalIdentity[] = [
  LOCAL_ADMIN,
  LOCAL_ADMIN_2,
  LOCAL_READER,
  LOCAL_AGENT,
];

/** The local stack's admin principals (serverless.yml's `adminPrincipals`): both admins. */
export const LOCAL_ADMIN_PRINCIPALS = [LOCAL_ADMIN, LOCAL_ADMIN_2]
  .map((admin) => admin.principalArn)
  .join(",");

/** Credentials Tether's functions use towards the local AWS (which does not check signatures). */
export const LOCAL_SERVICE_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

/**
 * Who the local KMS emulator's CloudTrail records say called, by access key: Tether's functions as a session
 * of one of the roles the template gives them (`tether-<stage>-<region>-api|sweep|kms-events`,
 * infra/iam.yml) — they share one process and one key locally, so one role stands for all three: the sweep's
 * — and TETHER_SELF_PRINCIPALS, which names exactly those roles (and the probe's), recognises Tether's own calls; the
 * admin and the reader as their IAM users. Any other key is recorded as an IAM user named after it.
 */
export const LOCAL_CALLER_IDENTITIES: readonly { accessKeyId: string; arn: string }[] = [
  {
    accessKeyId: LOCAL_SERVICE_CREDENTIALS.accessKeyId,
    arn: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/tether-local-${LOCAL_REGION}-sweep/tether-local`,
  },
  { accessKeyId: LOCAL_ADMIN.accessKeyId, arn: LOCAL_ADMIN.principalArn },
  { accessKeyId: LOCAL_ADMIN_2.accessKeyId, arn: LOCAL_ADMIN_2.principalArn },
  { accessKeyId: LOCAL_READER.accessKeyId, arn: LOCAL_READER.principalArn },
];

export function identityByAccessKey(accessKeyId: string): LocalIdentity | undefined {
  return LOCAL_IDENTITIES.find((identity) => identity.accessKeyId === accessKeyId);
}
