/**
 * The limiter's budgets are per account and Region (KMS counts quotas that way:
 * https://docs.aws.amazon.com/kms/latest/developerguide/limits.html): two accounts in one Region never wait
 * for each other, the per-process buckets and the shared budget alike, and the pacing middleware takes the
 * account from the request's key ARN.
 */
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { reserveSlots } from "../../../lib/domain/quota-slots.js";
import { paceAttempts } from "../../../lib/kms/clients.js";
import { RateLimiter, type SharedBudget, type SlotRequest } from "../../../lib/kms/rate-limiter.js";
import { quotaPk } from "../../../lib/store/dynamo-quota-budget.js";

const HUB = "111122223333";
const MEMBER = "444455556666";
const REGION = "eu-west-1";
const GPFI = "GetParametersForImport";
const T0 = 1_000_000;

/** The shared budget's arithmetic over a map keyed as the DynamoDB items are (quotaPk). */
class MemoryBudget implements SharedBudget {
  readonly tat = new Map<string, number | undefined>();
  readonly reservations: SlotRequest[] = [];
  async reserve(request: SlotRequest) {
    this.reservations.push(request);
    const id = quotaPk(request.region, request.operation, request.account);
    const grant = reserveSlots(this.tat.get(id), request.now(), request.intervalMs, request.deadlines);
    this.tat.set(id, grant.tat);
    return grant.slots;
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

/** Starts `count` acquires for `account` and records when each is served (fake time). */
function served(l: RateLimiter, count: number, account: string | undefined, operation = GPFI) {
  const times: number[] = [];
  const all = Promise.all(
    Array.from({ length: count }, () =>
      l.acquire(REGION, operation, account).then(() => times.push(Date.now() - T0)),
    ),
  );
  return { times, all };
}

describe("RateLimiter per account and Region", () => {
  it("paces each account's own bucket: a busy account does not delay another in the same Region", async () => {
    const limiter = new RateLimiter({ quotas: { [GPFI]: 1 } });
    const hub = served(limiter, 3, HUB);
    const member = served(limiter, 3, MEMBER);
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all([hub.all, member.all]);
    expect(hub.times).toEqual([0, 1000, 2000]);
    // Not 3000, 4000, 5000 as one budget for the Region would give.
    expect(member.times).toEqual([0, 1000, 2000]);
  });

  it("reserves from one shared budget item per account-Region, and one for a caller naming no account", async () => {
    const budget = new MemoryBudget();
    const processes = [0, 1].map(
      () =>
        new RateLimiter({
          quotas: { [GPFI]: 0.8 },
          shared: { budget, operations: [GPFI] },
        }),
    );
    const [a, b] = processes as [RateLimiter, RateLimiter];
    const runs = [served(a, 2, HUB), served(b, 2, HUB), served(a, 2, MEMBER), served(b, 2, undefined)];
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(runs.map((r) => r.all));
    const [hubA, hubB, member, self] = runs.map((r) => r.times) as [number[], number[], number[], number[]];
    // The hub's four calls (two processes) share one 0.8/s: 1,250 ms apart.
    expect([...hubA, ...hubB].sort((x, y) => x - y)).toEqual([0, 1250, 2500, 3750]);
    // The member's and the account-less caller's budgets are their own.
    expect(member).toEqual([0, 1250]);
    expect(self).toEqual([0, 1250]);
    expect([...budget.tat.keys()].sort()).toEqual([
      `QUOTA#${HUB}#${REGION}#${GPFI}`,
      `QUOTA#${MEMBER}#${REGION}#${GPFI}`,
      `QUOTA#${REGION}#${GPFI}`,
    ]);
  });
});

describe("paceAttempts", () => {
  it("paces each request in the budget of the account its key ARN names, else the client's account", async () => {
    vi.useRealTimers();
    const asked: (string | undefined)[] = [];
    const limiter = new RateLimiter({ quotas: {} });
    limiter.acquire = async (_region: string, _operation: string, account?: string) => {
      asked.push(account);
    };
    const client = new KMSClient({
      region: REGION,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
      maxAttempts: 1,
      // Nothing leaves the process: the request is answered before it is sent.
      requestHandler: {
        handle: async () => {
          throw Object.assign(new Error("not sent"), { name: "NotSent" });
        },
      },
    });
    paceAttempts(client, REGION, limiter, MEMBER);
    const arn = `arn:aws:kms:${REGION}:${HUB}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    await client.send(new DescribeKeyCommand({ KeyId: arn })).catch(() => undefined);
    await client.send(new DescribeKeyCommand({ KeyId: "alias/x" })).catch(() => undefined);
    await client.send(new CreateKeyCommand({})).catch(() => undefined);
    expect(asked).toEqual([HUB, MEMBER, MEMBER]);
    client.destroy();
  });
});
