/** Member accounts' errors as the admin API answers them (lib/api/error-boundary.ts). */
import { describe, expect, it } from "vitest";
import { errorResult } from "../../../lib/api/error-boundary.js";
import { AccountNotRegisteredError, MemberAccessError } from "../../../lib/domain/member-account.js";

const silent = { info: () => undefined, error: () => undefined };

describe("member account errors at the API", () => {
  it("a key of an unregistered account: 400 naming keyArn and both accounts", () => {
    const result = errorResult(
      new AccountNotRegisteredError({ accountId: "999988887777", hubAccountId: "111122223333" }),
      "req-1",
      silent,
    );
    expect(result.status).toBe(400);
    const body = result.body as { error: { code: string; field: string; message: string } };
    expect(body.error).toMatchObject({ code: "ValidationError", field: "keyArn" });
    expect(body.error.message).toContain("999988887777");
    expect(body.error.message).toContain("111122223333");
  });

  it("a member whose role cannot be assumed: 409 naming the member, not a 500", () => {
    const result = errorResult(
      new MemberAccessError({ accountId: "222233334444", code: "AccessDenied" }),
      "req-2",
      silent,
    );
    expect(result.status).toBe(409);
    const body = result.body as { error: { code: string; field: string; message: string } };
    expect(body.error).toMatchObject({ code: "Conflict", field: "account" });
    expect(body.error.message).toContain("222233334444");
    expect(body.error.message).toContain("AccessDenied");
  });
});
