/**
 * A local role's permission policies (its identity-based policies), evaluated with an IAM simulator
 * (@cloud-copilot/iam-simulate) for each call made with one of the role's sessions, the way IAM evaluates
 * them: an explicit Deny wins, then an Allow whose action, resource and conditions match, else an implicit
 * deny. KMS keys are evaluated with the default key policy (the account may use IAM policies for the key:
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam),
 * which is the only key policy the emulator knows, so the role's own policy decides.
 *
 * Fast enough for every call: the documents are checked once, when the role is put (a document the simulator
 * refuses is refused then, naming it), and each role keeps its decisions by request (action, resource and
 * context), so a sweep's thousand identical imports cost one simulation.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";

export type PermissionDecision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface PermissionRequest {
  /** The session's ARN, arn:aws:sts::<account>:assumed-role/<role>/<session>. */
  readonly principal: string;
  /** service:Action, e.g. kms:ImportKeyMaterial. */
  readonly action: string;
  /** The resource's ARN, or "*" for an action without resource-level permissions. */
  readonly resource: string;
  /** The account the resource is in. */
  readonly accountId: string;
  readonly context: Readonly<Record<string, string | readonly string[]>>;
}

const MAX_REMEMBERED = 10_000;

function defaultKeyPolicy(accountId: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ],
  };
}

export class PermissionPolicies {
  private readonly decisions = new Map<string, PermissionDecision>();

  private constructor(readonly documents: readonly unknown[]) {}

  /**
   * @param documents the policy documents (objects or their JSON)
   * @throws Error naming the document the simulator refuses and why
   */
  static async compile(documents: readonly unknown[]): Promise<PermissionPolicies> {
    const parsed = documents.map((d, i) => {
      if (typeof d !== "string") return d;
      try {
        return JSON.parse(d) as unknown;
      } catch {
        throw new Error(`permissionPolicy[${i}] is not valid JSON`);
      }
    });
    const policies = new PermissionPolicies(parsed);
    // A probe: the simulator validates every document before it evaluates anything.
    const probe = await policies.simulate({
      principal: "arn:aws:sts::111122223333:assumed-role/probe/probe",
      action: "kms:ListKeys",
      resource: "*",
      accountId: "111122223333",
      context: {},
    });
    if (typeof probe !== "string") {
      const [name, errors] = Object.entries(probe.identityPolicyErrors ?? {})[0] ?? ["", []];
      throw new Error(`${name || "permissionPolicy"} is not a valid IAM policy: ${JSON.stringify(errors)}`);
    }
    return policies;
  }

  /** @throws Error when the simulator cannot evaluate the request (an action IAM does not know, ...) */
  async decide(request: PermissionRequest): Promise<PermissionDecision> {
    const key = JSON.stringify([request.principal, request.action, request.resource, request.context]);
    const known = this.decisions.get(key);
    if (known !== undefined) return known;
    const decision = await this.simulate(request);
    if (typeof decision !== "string") {
      throw new Error(`cannot evaluate ${request.action} on ${request.resource}: ${decision.message}`);
    }
    if (this.decisions.size >= MAX_REMEMBERED) this.decisions.clear();
    this.decisions.set(key, decision);
    return decision;
  }

  private async simulate(request: PermissionRequest) {
    const result = await runSimulation(
      {
        request: {
          principal: request.principal,
          action: request.action,
          resource: { resource: request.resource, accountId: request.accountId },
          contextVariables: Object.fromEntries(
            Object.entries(request.context).map(([k, v]) => [k, typeof v === "string" ? v : [...v]]),
          ),
        },
        identityPolicies: this.documents.map((policy, i) => ({ name: `permissionPolicy[${i}]`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(request.action.startsWith("kms:") && request.resource !== "*"
          ? { resourcePolicy: defaultKeyPolicy(request.accountId) }
          : {}),
      },
      {},
    );
    if (result.resultType === "error") return result.errors;
    return result.overallResult as PermissionDecision;
  }
}
