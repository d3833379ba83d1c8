import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/domain/errors.js";
import {
  credentialsNeedRefresh,
  isMemberSession,
  MEMBER_REFRESH_MARGIN_MS,
  memberSessionName,
  missingFromCheck,
  parseAccountId,
  parseMemberAccountInput,
} from "../../../lib/domain/member-account.js";

const ROLE = "arn:aws:iam::222233334444:role/tether-member";
const field = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof ValidationError ? e.field : "not a ValidationError";
  }
  return "accepted";
};

describe("member accounts (domain)", () => {
  it("takes the account from the role ARN and names each bad field", () => {
    expect(parseMemberAccountInput({ roleArn: ROLE, externalId: "ext-1" }).accountId).toBe("222233334444");
    expect(
      parseMemberAccountInput({ roleArn: "arn:aws:iam::222233334444:role/path/x", externalId: "ab" }),
    ).toBeTruthy();
    expect(
      field(() => parseMemberAccountInput({ roleArn: "arn:aws:iam::2222:role/x", externalId: "ext" })),
    ).toBe("roleArn");
    expect(
      field(() =>
        parseMemberAccountInput({ roleArn: "arn:aws:iam::222233334444:user/x", externalId: "ext" }),
      ),
    ).toBe("roleArn");
    expect(field(() => parseMemberAccountInput({ roleArn: ROLE, externalId: "x" }))).toBe("externalId");
    expect(field(() => parseMemberAccountInput({ roleArn: ROLE, externalId: "a b" }))).toBe("externalId");
    expect(field(() => parseMemberAccountInput({ roleArn: ROLE, externalId: "ext", name: "" }))).toBe("name");
    const probe = (arn: string) => () =>
      parseMemberAccountInput({ roleArn: ROLE, externalId: "ext", probeKeyArn: arn });
    expect(field(probe("arn:aws:kms:eu-west-1:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab"))).toBe(
      "accepted",
    );
    expect(field(probe("arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab"))).toBe(
      "probeKeyArn",
    );
    expect(field(probe("alias/x"))).toBe("probeKeyArn");
    expect(field(() => parseAccountId("12345"))).toBe("accountId");
  });

  it("names sessions after the acting function", () => {
    expect(memberSessionName("sweep")).toBe("tether-sweep");
    expect(memberSessionName("kms-events")).toBe("tether-kms-events");
  });

  it("renews credentials from the margin before they expire", () => {
    const expiration = new Date("2026-12-05T04:00:00Z");
    const at = (ms: number) => new Date(expiration.getTime() - ms);
    expect(credentialsNeedRefresh(undefined, at(0))).toBe(true);
    expect(credentialsNeedRefresh(expiration, at(MEMBER_REFRESH_MARGIN_MS + 1))).toBe(false);
    expect(credentialsNeedRefresh(expiration, at(MEMBER_REFRESH_MARGIN_MS))).toBe(true);
    expect(credentialsNeedRefresh(expiration, at(-1))).toBe(true);
  });

  it("says in words what a failed check means", () => {
    expect(missingFromCheck({ assumeRole: { ok: true }, kms: { ok: true } })).toEqual([]);
    expect(missingFromCheck({ assumeRole: { ok: false, code: "AccessDenied", message: "" } })[0]).toContain(
      "sts:AssumeRole on the member role refused (AccessDenied)",
    );
    expect(
      missingFromCheck({
        assumeRole: { ok: true },
        kms: { ok: false, code: "AccessDeniedException", message: "" },
      })[0],
    ).toContain("kms:ListKeys refused (AccessDeniedException)");
  });
});

describe("isMemberSession", () => {
  const member = { accountId: "222233334444", roleArn: "arn:aws:iam::222233334444:role/ops/tether-member" };
  it.each([
    ["arn:aws:sts::222233334444:assumed-role/tether-member/tether-sweep", true],
    ["arn:aws:sts::222233334444:assumed-role/tether-member/tether-kms-events", true],
    ["arn:aws:sts::222233334444:assumed-role/tether-member/tether-api", true],
    // Another session name of the same role: a person or tool using the role, not one of the hub's functions.
    ["arn:aws:sts::222233334444:assumed-role/tether-member/alice", false],
    // Another role, or the same role name in another account.
    ["arn:aws:sts::222233334444:assumed-role/Admin/tether-sweep", false],
    ["arn:aws:sts::333344445555:assumed-role/tether-member/tether-sweep", false],
    ["arn:aws:iam::222233334444:user/tether-sweep", false],
  ])("%s → %s", (arn, expected) => {
    expect(isMemberSession(arn, member)).toBe(expected);
  });
});
