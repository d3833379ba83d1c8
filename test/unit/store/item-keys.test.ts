import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/domain/index.js";
import { dueShard, outboxShard } from "../../../lib/store/index.js";
import {
  allDueShards,
  dueBandShards,
  eventSk,
  historyPk,
  priorityOfDueShard,
} from "../../../lib/store/item-keys.js";
import { decodePageToken, encodePageToken } from "../../../lib/store/page-token.js";

describe("shards", () => {
  it("are stable: stored items keep their shard, so the hash must never change", () => {
    // Pinned values: a different hash would hide every stored Region and waiting event from its index.
    expect(dueShard("tk_01JX0000000000000000000000", "eu-west-1")).toBe("DUE#9");
    expect(outboxShard("evt-1")).toBe("OUTBOX#3");
  });

  it("spread Regions over all 16 shards", () => {
    const shards = new Set<string>();
    for (let i = 0; i < 500; i++)
      shards.add(dueShard(`tk_01JX00000000000000000${String(i).padStart(5, "0")}`, "eu-west-1"));
    expect(shards.size).toBe(16);
  });
});

describe("priority bands of the due index", () => {
  it("file a normal Region as before priorities (DUE#<n>) and the others in a band of their own, same shard", () => {
    const id = "tk_01JX0000000000000000000000";
    expect(dueShard(id, "eu-west-1", "normal")).toBe("DUE#9");
    expect(dueShard(id, "eu-west-1", "critical")).toBe("DUE#critical#9");
    expect(dueShard(id, "eu-west-1", "high")).toBe("DUE#high#9");
    expect(dueShard(id, "eu-west-1", "low")).toBe("DUE#low#9");
  });

  it("read back the priority a partition serves, and nothing from what is not one", () => {
    expect(priorityOfDueShard("DUE#9")).toBe("normal");
    expect(priorityOfDueShard("DUE#critical#15")).toBe("critical");
    expect(priorityOfDueShard("DUE#low#0")).toBe("low");
    for (const other of ["DUE#normal#3", "DUE#urgent#3", "DUE#", "OUTBOX#3", undefined, 9]) {
      expect(priorityOfDueShard(other)).toBeUndefined();
    }
  });

  it("list every band's 16 shards, critical first", () => {
    expect(dueBandShards("high")).toHaveLength(16);
    const all = allDueShards();
    expect(all).toHaveLength(64);
    expect(all[0]).toBe("DUE#critical#0");
    expect(all.at(-1)).toBe("DUE#low#15");
    expect(all).toContain("DUE#7");
  });
});

describe("history keys", () => {
  it("sort as time does and keep non-Tether subjects out of KEY# partitions", () => {
    const earlier = eventSk(new Date("2026-01-01T00:00:00.000Z").toISOString(), "b");
    const later = eventSk(new Date("2026-01-01T00:00:00.001Z").toISOString(), "a");
    expect(earlier < later).toBe(true);
    expect(historyPk("tk_01JX0000000000000000000000")).toBe("HISTORY#tk_01JX0000000000000000000000");
    expect(historyPk("tk_bad#KEY")).toBe("SYSTEM#tk_bad#KEY");
  });
});

describe("page tokens", () => {
  const attributes = ["pk", "sk"];
  const ok = () => true;

  it("round-trip a LastEvaluatedKey", () => {
    const key = { pk: "KEY#a", sk: "EVENT#b" };
    expect(decodePageToken(encodePageToken(key), attributes, ok)).toEqual(key);
    expect(encodePageToken(undefined)).toBeUndefined();
    expect(decodePageToken(undefined, attributes, ok)).toBeUndefined();
  });

  it.each([
    ["not base64url", "a+b/c="],
    ["too long", "a".repeat(5000)],
    ["an array", Buffer.from("[]").toString("base64url")],
    ["null", Buffer.from("null").toString("base64url")],
    ["a missing attribute", Buffer.from(JSON.stringify({ pk: "x" })).toString("base64url")],
    ["an empty value", Buffer.from(JSON.stringify({ pk: "x", sk: "" })).toString("base64url")],
    ["__proto__ games", Buffer.from('{"pk":"x","__proto__":{"sk":"y"}}').toString("base64url")],
  ])("refuse %s", (_, token) => {
    expect(() => decodePageToken(token, attributes, ok)).toThrow(ValidationError);
  });

  it("refuse what the listing's own check refuses", () => {
    const token = encodePageToken({ pk: "KEY#other", sk: "EVENT#b" });
    expect(() => decodePageToken(token, attributes, (k) => k.pk === "KEY#mine")).toThrow(ValidationError);
  });
});
