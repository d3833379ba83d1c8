/** Small helpers shared by the lifecycle integration tests. */
import { DescribeKeyCommand, type KeyMetadata } from "@aws-sdk/client-kms";
import type { ManagedKey } from "../../../lib/domain/managed-key.js";
import type { LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import type { LifecycleTestbed } from "../../support/lifecycle-testbed.js";

export const ACTOR = "operator:alice";

export async function describeKey(
  bed: LifecycleTestbed,
  region: string,
  keyId: string,
): Promise<KeyMetadata> {
  const out = await bed.kms(region).send(new DescribeKeyCommand({ KeyId: keyId }));
  if (out.KeyMetadata === undefined) throw new Error("DescribeKey returned no metadata");
  return out.KeyMetadata;
}

/** Creates a symmetric key in eu-west-1 (plus replicas) with fresh vault material. */
export async function registerNew(
  bed: LifecycleTestbed,
  policy: Record<string, unknown>,
  replicaRegions: string[] = [],
  deps: LifecycleDeps = bed.deps,
) {
  const { ref, checkValue } = await bed.putMaterial();
  return registerKey(deps, {
    mode: "create",
    region: "eu-west-1",
    keySpec: "SYMMETRIC_DEFAULT",
    materialRef: ref,
    checkValue,
    policy,
    ...(replicaRegions.length > 0 ? { multiRegion: true, replicaRegions } : {}),
    actor: ACTOR,
    correlationId: `register-${ref}`,
  });
}

export function arnIn(key: ManagedKey, region: string): string {
  const record = key.regions.find((r) => r.region === region);
  if (record === undefined) throw new Error(`key ${key.id} has no region ${region}`);
  return record.keyArn;
}

export function types(events: ReadonlyArray<{ detailType: string }>): string[] {
  return events.map((e) => e.detailType);
}
