/**
 * The managed-key boundary and the table's history, decided by evaluating the packaged template's role
 * policies with an IAM policy simulator (@cloud-copilot/iam-simulate), not by reading them: the role's inline
 * policies with their intrinsics computed (support/resolve-policy.ts), KMS's default key policy (the account
 * delegates to IAM: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html), and the
 * request context KMS and DynamoDB give each call.
 *
 * `TETHER_TEMPLATE_UNDER_TEST=<path to a packaged template>` evaluates that template instead of packaging
 * one (how the checks were run against the template before the boundary, where they fail).
 */
import { readFile } from "node:fs/promises";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGED_BY_TAG_KEY } from "../../lib/domain/deployment.js";
import { roleIdOf } from "./support/iam.js";
import {
  type CfnTemplate,
  lambdaFunctions,
  type PackagedService,
  packageService,
} from "./support/packaged-service.js";
import { ACCOUNT, REGION, resolvePolicy } from "./support/resolve-policy.js";

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";
type Context = Record<string, string | string[]>;

const FUNCTIONS = ["api", "sweep", "kms-events"] as const;
/** The probe is checked on its own (below): it may only DescribeKey sentinels. */
type Fn = (typeof FUNCTIONS)[number] | "probe";
const REPLICA_REGION = "eu-central-1";
const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const keyArn = (region = REGION) => `arn:aws:kms:${region}:${ACCOUNT}:key/${KEY_ID}`;
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/tether-ci`;
const DEFAULT_KEY_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "Enable IAM User Permissions",
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: "kms:*",
      Resource: "*",
    },
  ],
};

/** Every KMS action that changes a key, an alias or a tag, whether Tether calls it or not. */
const KMS_WRITES = [
  "kms:GetParametersForImport",
  "kms:ImportKeyMaterial",
  "kms:DeleteImportedKeyMaterial",
  "kms:RotateKeyOnDemand",
  "kms:ReplicateKey",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:PutKeyPolicy",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:DisableKey",
  "kms:EnableKey",
  "kms:CreateGrant",
  "kms:RevokeGrant",
  "kms:EnableKeyRotation",
  "kms:UpdateKeyDescription",
  "kms:UpdatePrimaryRegion",
  "kms:Decrypt",
  "kms:Encrypt",
  "kms:Sign",
  "kms:GenerateDataKey",
  "kms:GenerateMac",
] as const;

/**
 * What each function's code calls on one of its own keys (lib/kms/kms-adapter.ts, through lib/lifecycle):
 * the import path everywhere; rotation, key swaps (replicas, aliases, key policies) in the api and the sweep;
 * unmanaging (UntagResource of the mark) in the api only. PutKeyPolicy is never called but KMS's lockout
 * check needs it allowed (infra/iam-statements.yml, keyPolicy). Tagging happens at creation, checked below.
 */
const CALLS: Record<Fn, readonly string[]> = {
  api: [
    "kms:GetParametersForImport",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:RotateKeyOnDemand",
    "kms:ReplicateKey",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:PutKeyPolicy",
    "kms:UntagResource",
  ],
  sweep: [
    "kms:GetParametersForImport",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:RotateKeyOnDemand",
    "kms:ReplicateKey",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:PutKeyPolicy",
  ],
  "kms-events": ["kms:GetParametersForImport", "kms:ImportKeyMaterial", "kms:DeleteImportedKeyMaterial"],
  probe: [],
};
const CREATORS: readonly Fn[] = ["api", "sweep"];

let packaged: PackagedService | undefined;
let template: CfnTemplate;
/** This deployment's tether:managed-by value, from the functions' TETHER_DEPLOYMENT ("tether" before it). */
let deployment: string;
let aliasPrefix: string;
/** The prefix the functions refuse aliases outside of (TETHER_ALIAS_PREFIX). */
let codeAliasPrefix: unknown;
const policiesOf = new Map<Fn, Array<{ name: string; policy: unknown }>>();
const roleNameOf = new Map<Fn, string>();

beforeAll(async () => {
  const override = process.env.TETHER_TEMPLATE_UNDER_TEST;
  if (override !== undefined) {
    template = JSON.parse(await readFile(override, "utf8")) as CfnTemplate;
  } else {
    packaged = await packageService("ci");
    template = packaged.template;
  }
  const functions = lambdaFunctions(template);
  for (const fn of [...FUNCTIONS, "probe" as const]) {
    const resource = functions.get(fn);
    if (resource === undefined) throw new Error(`no function ${fn} in the template`);
    const role = template.Resources[roleIdOf(resource)];
    const policies = (role?.Properties?.Policies ?? []) as Array<{
      PolicyName: string;
      PolicyDocument: unknown;
    }>;
    policiesOf.set(
      fn,
      policies.map((p) => ({ name: p.PolicyName, policy: resolvePolicy(template, p.PolicyDocument) })),
    );
    roleNameOf.set(fn, String(role?.Properties?.RoleName));
  }
  const environment = functions.get("api")?.Properties?.Environment as
    | { Variables: Record<string, unknown> }
    | undefined;
  const env = environment?.Variables ?? {};
  deployment = typeof env.TETHER_DEPLOYMENT === "string" ? env.TETHER_DEPLOYMENT : "tether";
  codeAliasPrefix = env.TETHER_ALIAS_PREFIX;
  // The alias statement's resource names the prefix: arn:aws:kms:*:<account>:alias/<prefix>*
  const aliasResources = JSON.stringify(policiesOf.get("api")).match(/:alias\/([^"*]*)\*"/);
  aliasPrefix = aliasResources?.[1] ?? "";
}, 300_000);

afterAll(async () => {
  await packaged?.remove();
});

async function decide(fn: Fn, action: string, resource: string, context: Context): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleNameOf.get(fn)}/${fn}`,
        action,
        resource: { resource, accountId: ACCOUNT },
        contextVariables: { "aws:RequestedRegion": REGION, ...context },
      },
      identityPolicies: policiesOf.get(fn) ?? [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(action.startsWith("kms:") ? { resourcePolicy: DEFAULT_KEY_POLICY } : {}),
    },
    {},
  );
  if (result.resultType === "error") {
    throw new Error(`${fn} ${action}: the simulator refused the request: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Decision;
}

/** The context KMS gives an operation on an existing key: its origin and its tags. */
function onKey(tags: Record<string, string>, origin = "EXTERNAL"): Context {
  return {
    "kms:KeyOrigin": origin,
    ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
  };
}

/** The extra context of each write Tether makes, as its code makes it. */
function requestContext(action: string): Context {
  switch (action) {
    case "kms:ReplicateKey":
      return { "kms:ReplicaRegion": REPLICA_REGION };
    case "kms:PutKeyPolicy":
      return { "kms:BypassPolicyLockoutSafetyCheck": "false" };
    case "kms:TagResource":
      return { [`aws:RequestTag/${MANAGED_BY_TAG_KEY}`]: deployment, "aws:TagKeys": [MANAGED_BY_TAG_KEY] };
    case "kms:UntagResource":
      return { "aws:TagKeys": [MANAGED_BY_TAG_KEY] };
    default:
      return {};
  }
}

const ours = () => onKey({ [MANAGED_BY_TAG_KEY]: deployment });

/** CreateKey's context as register and key swaps send it. */
function createKeyContext(tagKeys: string[], extra: Context = {}): Context {
  return {
    "kms:KeyOrigin": "EXTERNAL",
    "kms:BypassPolicyLockoutSafetyCheck": "false",
    [`aws:RequestTag/${MANAGED_BY_TAG_KEY}`]: deployment,
    "aws:TagKeys": tagKeys,
    ...extra,
  };
}

describe("no Tether role can bring a key into its scope", () => {
  it.each(FUNCTIONS)("%s is denied TagResource with the deployment's tag on an unmanaged key", async (fn) => {
    expect(
      await decide(fn, "kms:TagResource", keyArn(), { ...onKey({}), ...requestContext("kms:TagResource") }),
    ).not.toBe("Allowed");
  });

  it.each(FUNCTIONS)("%s is denied TagResource on a key another deployment manages", async (fn) => {
    for (const other of ["tether/dev/eu-west-1", "tether/ci/us-east-1", "tether"]) {
      const context = { ...onKey({ [MANAGED_BY_TAG_KEY]: other }), ...requestContext("kms:TagResource") };
      expect(await decide(fn, "kms:TagResource", keyArn(), context), other).toBe("ExplicitlyDenied");
    }
  });

  it.each(CREATORS)("%s may tag a key it is creating, in each model of the creation context", async (fn) => {
    // KMS does not document what context a TagResource that is part of CreateKey/ReplicateKey carries: the
    // new key has no attributes yet, or it carries the request's tags (infra/iam-statements.yml). Both pass.
    const request = requestContext("kms:TagResource");
    expect(await decide(fn, "kms:TagResource", keyArn(), request)).toBe("Allowed");
    expect(
      await decide(fn, "kms:TagResource", keyArn(REPLICA_REGION), {
        ...request,
        "aws:RequestedRegion": REPLICA_REGION,
      }),
    ).toBe("Allowed");
    expect(await decide(fn, "kms:TagResource", keyArn(), { ...request, ...ours() })).toBe("Allowed");
  });

  it.each(CREATORS)(
    "%s may set only tag keys the stage allows (ForAllValues on the request's tag keys)",
    async (fn) => {
      const withKeys = (keys: string[]) => ({ ...requestContext("kms:TagResource"), "aws:TagKeys": keys });
      // ci's keyTagKeys: tether:*, team.
      expect(
        await decide(
          fn,
          "kms:TagResource",
          keyArn(),
          withKeys([MANAGED_BY_TAG_KEY, "tether:key-id", "team"]),
        ),
      ).toBe("Allowed");
      expect(await decide(fn, "kms:TagResource", keyArn(), withKeys([MANAGED_BY_TAG_KEY, "owner"]))).not.toBe(
        "Allowed",
      );
      expect(
        await decide(fn, "kms:CreateKey", "*", createKeyContext([MANAGED_BY_TAG_KEY, "owner"])),
      ).not.toBe("Allowed");
      // Another deployment's value in the request is never allowed.
      const foreign = {
        ...withKeys([MANAGED_BY_TAG_KEY]),
        [`aws:RequestTag/${MANAGED_BY_TAG_KEY}`]: "tether/prod/eu-west-1",
      };
      expect(await decide(fn, "kms:TagResource", keyArn(), foreign)).not.toBe("Allowed");
    },
  );

  it("lets kms-events tag nothing, ever", async () => {
    expect(
      await decide("kms-events", "kms:TagResource", keyArn(), requestContext("kms:TagResource")),
    ).not.toBe("Allowed");
  });

  it("lets the api untag only Tether's mark, and only on its own keys", async () => {
    expect(
      await decide("api", "kms:UntagResource", keyArn(), { ...ours(), "aws:TagKeys": ["team"] }),
    ).not.toBe("Allowed");
    expect(
      await decide("api", "kms:UntagResource", keyArn(), {
        ...onKey({ [MANAGED_BY_TAG_KEY]: "tether/dev/eu-west-1" }),
        ...requestContext("kms:UntagResource"),
      }),
    ).toBe("ExplicitlyDenied");
  });
});

describe("the lockout safety check stays on", () => {
  it.each(FUNCTIONS)(
    "%s is denied PutKeyPolicy and CreateKey with BypassPolicyLockoutSafetyCheck=true",
    async (fn) => {
      const bypass = { "kms:BypassPolicyLockoutSafetyCheck": "true" };
      expect(await decide(fn, "kms:PutKeyPolicy", keyArn(), { ...ours(), ...bypass })).toBe(
        "ExplicitlyDenied",
      );
      expect(await decide(fn, "kms:CreateKey", "*", createKeyContext([MANAGED_BY_TAG_KEY], bypass))).toBe(
        "ExplicitlyDenied",
      );
    },
  );
});

describe("every KMS write stays inside the deployment", () => {
  it.each(FUNCTIONS)("%s is denied every KMS write on a key of another deployment", async (fn) => {
    for (const other of ["tether/dev/eu-west-1", "tether/ci/us-east-1"]) {
      for (const action of KMS_WRITES) {
        const context = { ...onKey({ [MANAGED_BY_TAG_KEY]: other }), ...requestContext(action) };
        expect(await decide(fn, action, keyArn(), context), `${action} on ${other}'s key`).not.toBe(
          "Allowed",
        );
      }
    }
  });

  it.each(FUNCTIONS)(
    "%s is denied every KMS write on an unmanaged key and on a key that is not EXTERNAL",
    async (fn) => {
      for (const action of KMS_WRITES) {
        const context = requestContext(action);
        expect(
          await decide(fn, action, keyArn(), { ...onKey({}), ...context }),
          `${action}, unmanaged`,
        ).not.toBe("Allowed");
        const awsKms = { ...onKey({ [MANAGED_BY_TAG_KEY]: deployment }, "AWS_KMS"), ...context };
        expect(await decide(fn, action, keyArn(), awsKms), `${action}, AWS_KMS origin`).not.toBe("Allowed");
      }
    },
  );

  it.each(FUNCTIONS)("%s is allowed exactly what its code calls on its own keys", async (fn) => {
    const allowed: string[] = [];
    for (const action of KMS_WRITES) {
      if (action === "kms:TagResource") continue; // at creation only: checked above
      if ((await decide(fn, action, keyArn(), { ...ours(), ...requestContext(action) })) === "Allowed") {
        allowed.push(action);
      }
    }
    expect(allowed.sort()).toEqual([...CALLS[fn]].sort());
  });

  it.each(FUNCTIONS)(
    "%s creates keys only if it is a creator, EXTERNAL only, with the deployment's tag",
    async (fn) => {
      const expected = CREATORS.includes(fn) ? "Allowed" : "ImplicitlyDenied";
      expect(
        await decide(fn, "kms:CreateKey", "*", createKeyContext([MANAGED_BY_TAG_KEY, "tether:key-id"])),
      ).toBe(expected);
      expect(
        await decide(
          fn,
          "kms:CreateKey",
          "*",
          createKeyContext([MANAGED_BY_TAG_KEY], { "kms:KeyOrigin": "AWS_KMS" }),
        ),
      ).not.toBe("Allowed");
      expect(
        await decide(fn, "kms:CreateKey", "*", {
          ...createKeyContext([MANAGED_BY_TAG_KEY]),
          [`aws:RequestTag/${MANAGED_BY_TAG_KEY}`]: "tether/dev/eu-west-1",
        }),
      ).not.toBe("Allowed");
      expect(
        await decide(fn, "kms:CreateKey", "*", {
          ...createKeyContext([MANAGED_BY_TAG_KEY]),
          "aws:RequestedRegion": "us-east-1",
        }),
      ).not.toBe("Allowed");
    },
  );

  it.each(CREATORS)("%s writes aliases only under the deployment's prefix", async (fn) => {
    expect(aliasPrefix).toBe("tether/ci/");
    // The code refuses up front what IAM would refuse after CreateKey: the same prefix.
    expect(codeAliasPrefix).toBe(aliasPrefix);
    const alias = (name: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:alias/${name}`;
    for (const action of ["kms:CreateAlias", "kms:UpdateAlias"]) {
      expect(await decide(fn, action, alias(`${aliasPrefix}payments`), {}), action).toBe("Allowed");
      expect(await decide(fn, action, alias("payments"), {}), action).not.toBe("Allowed");
      expect(await decide(fn, action, alias("tether/prod/payments"), {}), action).not.toBe("Allowed");
    }
  });

  it.each(FUNCTIONS)("%s reads any key of its Regions (adopting starts by reading)", async (fn) => {
    for (const action of ["kms:DescribeKey", "kms:ListResourceTags", "kms:ListKeyRotations"]) {
      expect(await decide(fn, action, keyArn(), onKey({})), action).toBe("Allowed");
    }
    expect(
      await decide(fn, "kms:DescribeKey", keyArn("us-east-1"), {
        ...onKey({}),
        "aws:RequestedRegion": "us-east-1",
      }),
    ).not.toBe("Allowed");
  });
});

describe("the table's history", () => {
  it.each(FUNCTIONS)("%s cannot delete history items, and can delete what lib/store deletes", async (fn) => {
    const deleteItem = (partition: string) =>
      decide(fn, "dynamodb:DeleteItem", TABLE_ARN, { "dynamodb:LeadingKeys": [partition] });
    for (const history of ["HISTORY#tk_01JX0000000000000000000000", "SYSTEM#arn:aws:kms:eu-west-1:1:key/x"]) {
      expect(await deleteItem(history), history).toBe("ExplicitlyDenied");
      expect(
        await decide(fn, "dynamodb:BatchWriteItem", TABLE_ARN, { "dynamodb:LeadingKeys": [history] }),
        history,
      ).not.toBe("Allowed");
    }
    for (const deletable of [
      "KEY#tk_01JX0000000000000000000000",
      `ARN#${keyArn()}`,
      "ALIAS#alias/tether/ci/payments",
      "IDEMPOTENCY#api",
    ]) {
      expect(await deleteItem(deletable), deletable).toBe("Allowed");
    }
  });
});

describe("the sentinel probe", () => {
  const SENTINEL_TAG = "tether:sentinel";
  const sentinel = () => onKey({ [MANAGED_BY_TAG_KEY]: deployment, [SENTINEL_TAG]: "true" });

  it("may DescribeKey this deployment's sentinels in its Regions, and nothing else", async () => {
    expect(await decide("probe", "kms:DescribeKey", keyArn(), sentinel())).toBe("Allowed");
    // A managed key that is not a sentinel, a sentinel of another deployment, an unmarked key.
    expect(await decide("probe", "kms:DescribeKey", keyArn(), ours())).not.toBe("Allowed");
    expect(
      await decide(
        "probe",
        "kms:DescribeKey",
        keyArn(),
        onKey({ [MANAGED_BY_TAG_KEY]: "tether/other/eu-west-1", [SENTINEL_TAG]: "true" }),
      ),
    ).not.toBe("Allowed");
    expect(await decide("probe", "kms:DescribeKey", keyArn(), onKey({ [SENTINEL_TAG]: "true" }))).not.toBe(
      "Allowed",
    );
    expect(
      await decide("probe", "kms:DescribeKey", keyArn("us-east-1"), {
        ...sentinel(),
        "aws:RequestedRegion": "us-east-1",
      }),
    ).not.toBe("Allowed");
    expect(await decide("probe", "kms:CreateKey", "*", createKeyContext([MANAGED_BY_TAG_KEY]))).not.toBe(
      "Allowed",
    );
    for (const action of [...KMS_WRITES, "kms:ListResourceTags", "kms:ListKeyRotations"]) {
      expect(
        await decide("probe", action, keyArn(), { ...sentinel(), ...requestContext(action) }),
        action,
      ).not.toBe("Allowed");
    }
  });

  it("reads and writes the table's items but deletes nothing", async () => {
    expect(await decide("probe", "dynamodb:PutItem", TABLE_ARN, {})).toBe("Allowed");
    expect(await decide("probe", "dynamodb:Query", `${TABLE_ARN}/index/due`, {})).toBe("Allowed");
    expect(
      await decide("probe", "dynamodb:DeleteItem", TABLE_ARN, { "dynamodb:LeadingKeys": ["SENTINELS"] }),
    ).not.toBe("Allowed");
  });

  it("the sweep may create a sentinel: CreateKey with the mark and the sentinel tag", async () => {
    const tagKeys = [MANAGED_BY_TAG_KEY, SENTINEL_TAG];
    expect(await decide("sweep", "kms:CreateKey", "*", createKeyContext(tagKeys))).toBe("Allowed");
    expect(
      await decide("sweep", "kms:TagResource", keyArn(), {
        [`aws:RequestTag/${MANAGED_BY_TAG_KEY}`]: deployment,
        "aws:TagKeys": tagKeys,
      }),
    ).toBe("Allowed");
  });
});

describe("member roles (README, Member accounts)", () => {
  const MEMBER_ROLE = "arn:aws:iam::222233334444:role/tether-member";
  const ORG = "o-abcdefghij";

  it("the api, the sweep and kms-events may assume the member role, by its name, and no other role", async () => {
    for (const fn of FUNCTIONS) {
      expect(await decide(fn, "sts:AssumeRole", MEMBER_ROLE, {}), fn).toBe("Allowed");
      for (const other of [
        "arn:aws:iam::222233334444:role/admin",
        "arn:aws:iam::222233334444:role/tether-member-admin",
        "arn:aws:iam::222233334444:role/ops/tether-member",
      ]) {
        expect(await decide(fn, "sts:AssumeRole", other, {}), `${fn} ${other}`).not.toBe("Allowed");
      }
      for (const action of ["sts:AssumeRoleWithWebIdentity", "sts:TagSession", "iam:PassRole"]) {
        expect(await decide(fn, action, MEMBER_ROLE, {}), `${fn} ${action}`).not.toBe("Allowed");
      }
    }
    expect(await decide("probe", "sts:AssumeRole", MEMBER_ROLE, {})).not.toBe("Allowed");
  });

  it("with an Organization set, only a member role in an account of that Organization", async () => {
    const parameters = template.Parameters as Record<string, Record<string, unknown>>;
    const withOrg: CfnTemplate = {
      ...template,
      Parameters: { ...parameters, OrganizationId: { ...parameters.OrganizationId, Default: ORG } },
    };
    for (const fn of FUNCTIONS) {
      const resource = lambdaFunctions(template).get(fn);
      if (resource === undefined) throw new Error(`no function ${fn} in the template`);
      const role = template.Resources[roleIdOf(resource)];
      const policies = (role?.Properties?.Policies ?? []) as Array<{
        PolicyName: string;
        PolicyDocument: unknown;
      }>;
      const identityPolicies = policies.map((p) => ({
        name: p.PolicyName,
        policy: resolvePolicy(withOrg, p.PolicyDocument),
      }));
      const simulate = async (context: Context) => {
        const result = await runSimulation(
          {
            request: {
              principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleNameOf.get(fn)}/${fn}`,
              action: "sts:AssumeRole",
              resource: { resource: MEMBER_ROLE, accountId: ACCOUNT },
              contextVariables: { "aws:RequestedRegion": REGION, ...context },
            },
            identityPolicies,
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          },
          {},
        );
        return result.resultType === "error" ? "error" : result.overallResult;
      };
      expect(await simulate({ "aws:ResourceOrgID": ORG }), fn).toBe("Allowed");
      expect(await simulate({ "aws:ResourceOrgID": "o-zzzzzzzzzz" }), fn).not.toBe("Allowed");
      expect(await simulate({}), fn).not.toBe("Allowed");
    }
  });
});
