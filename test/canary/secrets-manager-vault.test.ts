/**
 * Canary for the Secrets Manager vault (moto's server over HTTP, STS AssumeRole then GetSecretValue):
 * known material through every lifecycle path, then zero hits for it, the import tokens and wrapped material.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, it } from "vitest";
import { secretsManagerVault } from "../../lib/vault/secrets-manager/index.js";
import {
  MOTO_CREDENTIALS,
  MOTO_REGION,
  type MotoServer,
  motoAvailable,
  startMoto,
} from "../deploy/support/moto.js";
import { expectNoLeak, runCanary } from "../support/canary.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";

const available = motoAvailable();
if (!available)
  console.warn("Skipping the Secrets Manager canary: python3 -m moto.server is not available here.");

describe.skipIf(!available)("canary: Secrets Manager vault on moto", () => {
  let bed: LifecycleTestbed;
  let moto: MotoServer;
  beforeAll(async () => {
    [bed, moto] = await Promise.all([startLifecycleTestbed(), startMoto()]);
  });
  afterAll(async () => {
    await Promise.all([bed?.close(), moto?.stop()]);
  });

  it("never lets the material, an import token or wrapped material out", async () => {
    const vault = secretsManagerVault(
      {
        provider: "secrets-manager",
        roleArn: "arn:aws:iam::123456789012:role/tether-vault-access",
        externalId: "tether-canary-external-id",
        region: MOTO_REGION,
        secretPrefix: `tether-canary-${randomUUID().slice(0, 8)}/`,
        sessionName: "tether-canary",
        sourceIdentity: "tether-canary",
        access: "read-create",
        endpoint: moto.url,
        stsEndpoint: moto.url,
      },
      { credentials: MOTO_CREDENTIALS },
    );
    const known = { ref: `canary/${randomUUID()}`, material: randomBytes(32) };
    await vault.put(known.ref, known.material, "SYMMETRIC_DEFAULT");

    const report = await runCanary({ name: "secrets-manager", bed, vault, known });
    console.info(report.summary());
    expectNoLeak(report);
  }, 60_000);
});
