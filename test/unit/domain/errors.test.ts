import { describe, expect, it } from "vitest";
import {
  CheckValueMismatchError,
  ImportTokenProblem,
  IncorrectKeyMaterialError,
  KmsError,
  KmsImportTokenError,
  KmsInvalidStateError,
  KmsNotFoundError,
  KmsThrottledError,
  LeaseNotAcquiredError,
  NotFoundError,
  quoteUnknown,
  StateConflictError,
  TetherError,
  ValidationError,
  VaultError,
  VersionConflictError,
} from "../../../lib/domain/index.js";

const WHERE = { keyId: "mrk-0123", region: "eu-west-1" };

describe("errors", () => {
  const cases: [Error, string, Record<string, unknown>][] = [
    [new ValidationError("validTo", "is in the past"), "ValidationError", { field: "validTo" }],
    [new NotFoundError("Managed key", "tk_1"), "NotFoundError", { entity: "Managed key", id: "tk_1" }],
    [
      new StateConflictError("revoked", { keyId: "tk_1", state: "revoked" }),
      "StateConflictError",
      { state: "revoked" },
    ],
    [
      new KmsImportTokenError(ImportTokenProblem.ExpiredToken, WHERE),
      "KmsImportTokenError",
      { problem: "ExpiredImportTokenException", ...WHERE },
    ],
    [new IncorrectKeyMaterialError(WHERE), "IncorrectKeyMaterialError", WHERE],
    [
      new KmsInvalidStateError({ ...WHERE, keyState: "Disabled" }),
      "KmsInvalidStateError",
      { keyState: "Disabled" },
    ],
    [
      new KmsThrottledError({ ...WHERE, operation: "GetParametersForImport" }),
      "KmsThrottledError",
      { operation: "GetParametersForImport" },
    ],
    [new KmsNotFoundError(WHERE), "KmsNotFoundError", WHERE],
    [new VaultError("vault unreachable", { materialRef: "acme/k" }), "VaultError", { materialRef: "acme/k" }],
    [
      new CheckValueMismatchError({ keyId: "tk_1", materialRef: "acme/k" }),
      "CheckValueMismatchError",
      { keyId: "tk_1" },
    ],
    [new LeaseNotAcquiredError("key#tk_1"), "LeaseNotAcquiredError", { leaseId: "key#tk_1" }],
    [
      new VersionConflictError({ keyId: "tk_1", expectedVersion: 3 }),
      "VersionConflictError",
      { expectedVersion: 3 },
    ],
  ];

  it.each(cases)("%s has its name, its context and the common base", (error, name, context) => {
    expect(error).toBeInstanceOf(TetherError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error).toMatchObject(context);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it("KMS errors share KmsError and name key and region in the message", () => {
    const error = new KmsInvalidStateError({ ...WHERE, keyState: "PendingDeletion" });
    expect(error).toBeInstanceOf(KmsError);
    expect(error.message).toContain("mrk-0123");
    expect(error.message).toContain("eu-west-1");
    expect(error.message).toContain("PendingDeletion");
  });

  it("chains a cause", () => {
    const cause = new Error("ThrottlingException");
    expect(new KmsThrottledError({ keyId: "k", operation: "ImportKeyMaterial" }, { cause }).cause).toBe(
      cause,
    );
    expect(new TetherError("x", { cause }).cause).toBe(cause);
  });
});

describe("quoteUnknown", () => {
  it("quotes short identifier-like strings and hides everything else", () => {
    expect(quoteUnknown("RSAES_PKCS1_V1_5")).toBe('"RSAES_PKCS1_V1_5"');
    const material = Buffer.from("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "hex");
    for (const value of [
      material,
      material.toString("latin1"),
      material.toString("base64"),
      "x".repeat(65),
      {},
      null,
    ]) {
      const shown = quoteUnknown(value);
      expect(shown).toMatch(/not shown/);
      expect(shown).not.toContain(material.toString("hex"));
      expect(shown).not.toContain(material.toString("base64"));
    }
  });
});
