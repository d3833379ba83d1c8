/**
 * The import step with a vault that wraps elsewhere (Vault.wrapFor, the vault agent's): the KMS adapter asks
 * it with the import's context instead of calling `wrap`, and refuses the answer when its check value is not
 * the one the key recorded — nothing is imported then. Against the KMS emulator, through the real adapter.
 */
import { CreateKeyCommand, DescribeKeyCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLifecycleDeps } from "../../../lib/composition-root.js";
import { CheckValueMismatchError } from "../../../lib/domain/errors.js";
import { parseAwsRegion } from "../../../lib/domain/ids.js";
import { ExpirationModel } from "../../../lib/domain/kms-constants.js";
import { chooseWrapping } from "../../../lib/domain/wrapping.js";
import type { Vault, WrapForRequest } from "../../../lib/lifecycle/ports.js";
import {
  CREDENTIALS,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

describe("importMaterial with Vault.wrapFor", () => {
  it("wraps through wrapFor with the key, Region and key spec, and imports only a matching check value", async () => {
    const { ref, checkValue } = await bed.putMaterial();
    const asked: WrapForRequest[] = [];
    let answered = "not-the-recorded-one";
    const vault: Vault = {
      kind: "elsewhere",
      wrap: () => Promise.reject(new Error("the in-process wrap was called")),
      wrapFor: async (request) => {
        asked.push(request);
        return {
          wrapped: await bed.vault.wrap(request.materialRef, request.publicKeyDer, request.algorithm),
          checkValue: answered,
        };
      },
      checkValue: (r) => bed.vault.checkValue(r),
      generate: (r, spec) => bed.vault.generate(r, spec),
      has: (r) => bed.vault.has(r),
      describe: (r) => bed.vault.describe(r),
    };
    const deps = createLifecycleDeps(bed.config, { vault, credentials: CREDENTIALS, clock: () => bed.now() });
    const kms = bed.kms("eu-west-1");
    const keyArn = (await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.Arn as string;
    const request = {
      region: parseAwsRegion("eu-west-1"),
      keyId: keyArn,
      materialRef: ref,
      wrapping: chooseWrapping("SYMMETRIC_DEFAULT", {}),
      expirationModel: ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE,
      keySpec: "SYMMETRIC_DEFAULT" as const,
      checkValue,
    };

    await expect(deps.kms.importMaterial(request)).rejects.toBeInstanceOf(CheckValueMismatchError);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata?.KeyState).toBe(
      "PendingImport",
    );
    expect(asked[0]).toMatchObject({
      keyArn,
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
    });

    answered = checkValue;
    const result = await deps.kms.importMaterial(request);
    expect(result).toMatchObject({ found: true, keyState: "Enabled" });
  }, 60_000);
});
