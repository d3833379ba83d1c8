/**
 * Canary for the PKCS#11 vault on SoftHSM2: known AES-256 material is created in the HSM (C_CreateObject,
 * sensitive, extractable only by wrapping), goes through every lifecycle path with the HSM wrapping for KMS,
 * then zero hits for it, the import tokens and wrapped material.
 */
import { randomBytes } from "node:crypto";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type Pkcs11Vault, pkcs11VaultFromEnv } from "../../lib/vault/pkcs11/index.js";
import { expectNoLeak, runCanary } from "../support/canary.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";
import {
  createSoftHsm,
  SOFTHSM_LIBRARY,
  type SoftHsm,
  softHsmMissingReason,
  USER_PIN,
} from "../support/softhsm.js";

const missing = softHsmMissingReason();
if (missing !== undefined) console.warn(`Skipping the PKCS#11 canary: ${missing}.`);

const TOKEN = "tether-canary";
const LABEL = "tether-test/canary/aes-256";

describe.skipIf(missing !== undefined)("canary: PKCS#11 vault on SoftHSM2", () => {
  const material = randomBytes(32);
  let bed: LifecycleTestbed;
  let hsm: SoftHsm;
  let vault: Pkcs11Vault;
  beforeAll(async () => {
    hsm = createSoftHsm([TOKEN]);
    createKnownSecret(material);
    vault = pkcs11VaultFromEnv(hsm.env(TOKEN));
    bed = await startLifecycleTestbed();
  });
  afterAll(async () => {
    await vault?.close();
    hsm?.cleanup();
    await bed?.close();
  });

  /** C_CreateObject of the known material, before the vault loads the library (SoftHSM reads its conf once). */
  function createKnownSecret(value: Buffer): void {
    const module = new pkcs11js.PKCS11();
    module.load(SOFTHSM_LIBRARY);
    module.C_Initialize();
    try {
      const slot = module
        .C_GetSlotList(true)
        .find((s) => module.C_GetTokenInfo(s).label.trimEnd() === TOKEN) as Buffer;
      const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      module.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
      module.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_LABEL, value: LABEL },
        { type: pkcs11js.CKA_VALUE, value },
      ]);
      module.C_Logout(session);
      module.C_CloseSession(session);
    } finally {
      module.C_Finalize();
      module.close();
    }
  }

  it("never lets the material, an import token or wrapped material out", async () => {
    const report = await runCanary({ name: "pkcs11", bed, vault, known: { ref: LABEL, material } });
    console.info(report.summary());
    expectNoLeak(report);
  }, 60_000);
});
