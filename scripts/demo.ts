/**
 * `npm run demo`: Tether's story, told against a running `npm start` (found through its endpoints.json:
 * $TETHER_LOCAL_DATA_DIR/endpoints.json, else .local/endpoints.json)
 * or, when none answers, against an in-memory stack started here. Every call to Tether's API is SigV4-signed
 * with the local admin identity; secrets are encrypted and decrypted with the KMS SDK against the emulator.
 * Each step prints what happened and how long it took; the exit code is 0 only if every step did what it
 * should.
 *
 * Time: the local stack has one clock, the KMS emulator's (real time plus an offset), and Tether's
 * functions run on it too. To make material expire now, the demo moves that clock just past the
 * material's ValidTo (about an hour ahead) and leaves it there: KMS deletes the material and sends its
 * event, and Tether restores with a ValidTo an hour after that time. Each run moves a persisted
 * `npm start` an hour further on; nothing is ever moved back (schedules made at a later time would wait
 * for real time to catch up). A regional loss sends no event: the probe finds it when it reads the Region's
 * sentinel (the stack runs it on its schedule, every minute when deployed), opens a regional-loss incident, and
 * the sweep restores every key there without waiting the attribution grace (the demo keys keep the default).
 *
 * Multi-Region: when the stack serves a second Region (it does by default: `npm start -- --regions`), the
 * demo registers a Multi-Region key with its replica there, encrypts in the replica's Region, makes KMS
 * lose the material in that Region only, and watches the sweep restore the replica (the primary is never
 * touched) until the old ciphertext decrypts in that Region again.
 *
 * Member accounts: two members set up as a user would on the local stack (README, "Member accounts locally"):
 * a key adopted in each, listed by account; one member's material expires (the clock jumps again, so the
 * hub's demo keys expire with it and are restored too) and is restored in that member, the other is untouched.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  type KeyMetadata,
  KMSClient,
} from "@aws-sdk/client-kms";
import { KmsAdmin } from "../infra/local/kms/admin-client.js";
import {
  type EndpointsFile,
  LOCAL_ACCOUNT_ID,
  LOCAL_ADMIN,
  LOCAL_SERVICE_CREDENTIALS,
  type LocalEndpoints,
  type LocalStack,
  startLocalStack,
} from "../infra/local/runner/index.js";
import type { HistoryResponse, KeyActionResponse } from "../lib/api/schemas.js";
import { route, TetherApiClient } from "../lib/cli/client.js";
import { localEndpointsPath } from "../lib/cli/settings.js";
import { AuditDetailType } from "../lib/domain/audit-types.js";

export interface DemoOptions {
  /** Endpoints of a running stack; else `endpointsFile` if its API answers; else a stack started here. */
  readonly endpoints?: LocalEndpoints;
  readonly endpointsFile?: string;
  readonly out?: (line: string) => void;
  /** Lets time pass for Tether and KMS. Default: waits in real time. Tests move both clocks instead. */
  readonly letTimePass?: (ms: number) => Promise<void>;
  /** Most (Tether-clock) time one step waits for Tether to act; default 3 minutes. */
  readonly stepTimeoutMs?: number;
}

/** Thrown by a step whose outcome is not the expected one. */
export class DemoStepError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DemoStepError";
  }
}

const SECRET = "the launch code is 0000";

/** Runs the story; resolves to true when every step did what it should. */
export async function main(options: DemoOptions = {}): Promise<boolean> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const letTimePass = options.letTimePass ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const stepTimeoutMs = options.stepTimeoutMs ?? 180_000;
  let ownStack: LocalStack | undefined;
  let endpoints =
    options.endpoints ??
    (await runningStack(options.endpointsFile ?? localEndpointsPath(process.env, process.cwd())));
  if (endpoints === undefined) {
    out("No running `npm start` found: starting an in-memory stack for the demo…");
    ownStack = await startLocalStack({
      memory: true,
      ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
      sweepIntervalMs: 5_000,
    });
    endpoints = ownStack.endpoints;
  }
  const region = endpoints.region;
  // endpoints.json from before the stack served several Regions has no `regions`.
  const replicaRegion = (endpoints.regions ?? []).find((r) => r !== region);
  const api = new TetherApiClient({
    apiUrl: endpoints.api,
    region,
    credentials: { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey },
  });
  const kms = new KMSClient({ endpoint: endpoints.kms, region, credentials: LOCAL_SERVICE_CREDENTIALS });
  const replicaKms =
    replicaRegion === undefined
      ? undefined
      : new KMSClient({
          endpoint: endpoints.kms,
          region: replicaRegion,
          credentials: LOCAL_SERVICE_CREDENTIALS,
        });
  const admin = new KmsAdmin(endpoints.kms);

  const describe = async (keyId: string, client = kms): Promise<KeyMetadata> => {
    const metadata = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    if (metadata === undefined) throw new DemoStepError("DescribeKey returned no metadata");
    return metadata;
  };
  const decrypt = async (keyId: string, blob: Uint8Array, client = kms): Promise<string> =>
    Buffer.from(
      (await client.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: blob }))).Plaintext ?? [],
    ).toString();
  const decryptFails = async (keyId: string, blob: Uint8Array, client = kms): Promise<string> => {
    try {
      await decrypt(keyId, blob, client);
    } catch (error) {
      return (error as Error).name;
    }
    throw new DemoStepError("Decrypt still works: the material should be gone");
  };
  /** Polls until `check` answers, letting `intervalMs` pass between looks. */
  const waitFor = async <T>(
    what: string,
    intervalMs: number,
    check: () => Promise<T | undefined>,
  ): Promise<T> => {
    const deadline = Date.now() + stepTimeoutMs;
    for (;;) {
      const found = await check();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new DemoStepError(`gave up waiting for ${what}`);
      await letTimePass(intervalMs);
    }
  };
  /** Who made the newest restore of the key's history (Tether's audit trail, through the API). */
  const restoredBy = async (keyId: string): Promise<string> => {
    const history = (await api.request("GET", `${route("keys", keyId)}/history`)) as HistoryResponse;
    const event = history.items.find((e) => e.detailType === AuditDetailType.KeyMaterialRestored);
    return event?.actor ?? "nobody";
  };
  const enabledAfter =
    (keyId: string, after: number, client = kms) =>
    async (): Promise<KeyMetadata | undefined> => {
      const m = await describe(keyId, client);
      return m.KeyState === "Enabled" && (m.ValidTo?.getTime() ?? 0) > after ? m : undefined;
    };

  let ok = true;
  let n = 0;
  const step = async (title: string, run: () => Promise<string>): Promise<void> => {
    n += 1;
    if (!ok) return out(`  ${n}. ${title} — skipped`);
    const started = performance.now();
    try {
      const detail = await run();
      out(`✔ ${n}. ${title} (${seconds(performance.now() - started)})\n     ${detail}`);
    } catch (error) {
      ok = false;
      out(
        `✘ ${n}. ${title} (${seconds(performance.now() - started)})\n     ${(error as Error).name}: ${(error as Error).message}`,
      );
    }
  };

  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  let key: KeyActionResponse["key"] | undefined;
  let ciphertext: Uint8Array = new Uint8Array();
  let validTo = 0;
  const started = performance.now();
  out(`Tether demo against ${endpoints.api} (KMS ${endpoints.kms}, ${region})\n`);
  try {
    await step(
      "Register a key: Tether creates it in KMS, generates material in the vault, imports it",
      async () => {
        const registered = (await api.request("POST", "/keys", {
          body: {
            mode: "create",
            region,
            keySpec: "SYMMETRIC_DEFAULT",
            materialRef: `demo/run-${stamp}`,
            generateMaterial: true,
            alias: `alias/tether-demo-${stamp}`,
            description: "npm run demo",
            policy: { validityPeriod: "PT1H", reconcileInterval: "PT1M" },
          },
        })) as KeyActionResponse;
        key = registered.key;
        // A sweep running at that moment may hold the new region's lease and finish the first import itself.
        const m = await waitFor("the first import", 200, enabledAfter(key.keyArn, 0));
        validTo = m.ValidTo?.getTime() ?? 0;
        return `${key.id} = ${key.keyArn}, material valid to ${new Date(validTo).toISOString()} (policy: 1 h, reconcile every minute)`;
      },
    );
    const keyArn = () => (key as NonNullable<typeof key>).keyArn;

    await step("Encrypt a secret with KMS", async () => {
      ciphertext = (await kms.send(new EncryptCommand({ KeyId: keyArn(), Plaintext: Buffer.from(SECRET) })))
        .CiphertextBlob as Uint8Array;
      return `"${SECRET}" → ${ciphertext.length} bytes of ciphertext`;
    });

    await step("Let the material expire (the stack's clock jumps just past ValidTo)", async () => {
      await admin.setClock(new Date(validTo + 1_000));
      const keyId = keyArn().split("/").pop();
      const sent = (await admin.events()).some(
        (e) => e["detail-type"] === "KMS Imported Key Material Expiration" && e.detail["key-id"] === keyId,
      );
      if (!sent) throw new DemoStepError("KMS sent no expiration event for the key");
      return 'KMS deleted the material and sent "KMS Imported Key Material Expiration" to the bus';
    });

    await step(
      "Watch Tether restore it (the KMS event reaches kms-events through the bus rule)",
      async () => {
        const m = await waitFor("the restore after expiry", 200, enabledAfter(keyArn(), validTo));
        validTo = m.ValidTo?.getTime() ?? validTo;
        const by = await restoredBy(keyArn());
        if (by !== "tether:kms-events")
          throw new DemoStepError(`the last restore was by ${by}, not kms-events`);
        return `key Enabled again by ${by}, material valid to ${new Date(validTo).toISOString()}`;
      },
    );

    await step("Decrypt the secret again", async () => {
      const plaintext = await decrypt(keyArn(), ciphertext);
      if (plaintext !== SECRET) throw new DemoStepError("Decrypt returned something else");
      return `"${plaintext}" — the same bytes came back from the vault`;
    });

    await step("Simulate a regional loss: KMS loses the Region's imported material, no event", async () => {
      const lost = await admin.loseRegion(region);
      if (!lost.includes(keyArn().split("/").pop() as string))
        throw new DemoStepError("the key lost nothing");
      const state = (await describe(keyArn())).KeyState;
      const refused = await decryptFails(keyArn(), ciphertext);
      return `${lost.length} key(s) in ${region} lost their material; this one is ${state}, Decrypt → ${refused}`;
    });

    await step(
      "Watch Tether find the loss and restore (the probe reads the lost sentinel: a regional-loss incident)",
      async () => {
        const m = await waitFor("the restore after the loss", 1_000, enabledAfter(keyArn(), 0));
        // The sweep the incident makes the Region's keys due for, or kms-events when a late CloudTrail record of
        // an earlier call (delivered seconds after it, as AWS does) makes it look at the key first: a loss seen
        // before the incident opened is unexplained until then, and regional (restored at once) after.
        const by = await restoredBy(keyArn());
        if (by !== "tether:sweep" && by !== "tether:kms-events")
          throw new DemoStepError(`the last restore was by ${by}, not Tether's sweep or kms-events`);
        const plaintext = await decrypt(keyArn(), ciphertext);
        if (plaintext !== SECRET) throw new DemoStepError("Decrypt returned something else");
        return `key ${m.KeyState} again by ${by}, and the secret decrypts`;
      },
    );

    await step("Revoke: the kill switch deletes the material everywhere", async () => {
      await api.request("POST", `${route("keys", keyArn())}/revoke`, {
        body: { reason: "demo: kill switch" },
      });
      const state = (await describe(keyArn())).KeyState;
      if (state !== "PendingImport") throw new DemoStepError(`key is ${state}, expected PendingImport`);
      return `key ${state}; Decrypt → ${await decryptFails(keyArn(), ciphertext)} (and Tether will not re-import it)`;
    });

    await step("Restore: the operator brings it back", async () => {
      await api.request("POST", `${route("keys", keyArn())}/restore`, {
        body: { reason: "demo: all clear" },
      });
      const state = (await describe(keyArn())).KeyState;
      const plaintext = await decrypt(keyArn(), ciphertext);
      if (state !== "Enabled" || plaintext !== SECRET) throw new DemoStepError(`key is ${state}`);
      return `key ${state}; the secret decrypts again`;
    });

    if (replicaKms === undefined || replicaRegion === undefined) {
      out(
        "\n  (Multi-Region steps skipped: the stack serves one Region; `npm start -- --regions eu-west-1,eu-central-1` serves two)",
      );
    } else {
      let mrk: KeyActionResponse["key"] | undefined;
      let replicaArn = "";
      let replicaCiphertext: Uint8Array = new Uint8Array();
      await step(
        `Register a Multi-Region key: primary in ${region}, replica in ${replicaRegion}, the same material in both`,
        async () => {
          const registered = (await api.request("POST", "/keys", {
            body: {
              mode: "create",
              region,
              keySpec: "SYMMETRIC_DEFAULT",
              multiRegion: true,
              replicaRegions: [replicaRegion],
              materialRef: `demo/mrk-${stamp}`,
              generateMaterial: true,
              alias: `alias/tether-demo-mrk-${stamp}`,
              description: "npm run demo (Multi-Region)",
              policy: { validityPeriod: "PT1H", reconcileInterval: "PT1M" },
            },
          })) as KeyActionResponse;
          mrk = registered.key;
          replicaArn = mrk.regions.find((r) => r.region === replicaRegion)?.keyArn ?? "";
          if (replicaArn === "") throw new DemoStepError(`Tether records no replica in ${replicaRegion}`);
          await waitFor("the primary's import", 200, enabledAfter(mrk.keyArn, 0));
          await waitFor("the replica's import", 200, enabledAfter(replicaArn, 0, replicaKms));
          return `${mrk.id}: ${mrk.keyArn} and ${replicaArn}, both Enabled`;
        },
      );

      await step(
        `Encrypt in ${replicaRegion}, then KMS loses the imported material in ${replicaRegion} only`,
        async () => {
          replicaCiphertext = (
            await replicaKms.send(new EncryptCommand({ KeyId: replicaArn, Plaintext: Buffer.from(SECRET) }))
          ).CiphertextBlob as Uint8Array;
          const lost = await admin.loseRegion(replicaRegion);
          if (!lost.includes(replicaArn.split("/").pop() as string))
            throw new DemoStepError("the replica lost nothing");
          const primary = (await describe((mrk as NonNullable<typeof mrk>).keyArn)).KeyState;
          if (primary !== "Enabled")
            throw new DemoStepError(`the primary is ${primary}: it should be untouched`);
          const replica = (await describe(replicaArn, replicaKms)).KeyState;
          const refused = await decryptFails(replicaArn, replicaCiphertext, replicaKms);
          return `replica ${replica}, Decrypt in ${replicaRegion} → ${refused}; primary in ${region} still ${primary}`;
        },
      );

      await step(
        `Watch the sweep restore the replica in ${replicaRegion} (the probe opens an incident there)`,
        async () => {
          await waitFor("the replica's restore", 1_000, enabledAfter(replicaArn, 0, replicaKms));
          const history = (await api.request(
            "GET",
            `${route("keys", (mrk as NonNullable<typeof mrk>).id)}/history`,
          )) as HistoryResponse;
          const restore = history.items.find(
            (e) => e.detailType === AuditDetailType.KeyMaterialRestored && e.region === replicaRegion,
          );
          if (restore?.actor !== "tether:sweep")
            throw new DemoStepError(
              `the replica's last restore was by ${restore?.actor ?? "nobody"}, not the sweep`,
            );
          const plaintext = await decrypt(replicaArn, replicaCiphertext, replicaKms);
          if (plaintext !== SECRET) throw new DemoStepError("Decrypt returned something else");
          return `replica Enabled again by ${restore.actor}; the secret encrypted in ${replicaRegion} before the loss decrypts there`;
        },
      );
    }

    out(
      "\n  Member accounts: two accounts of the Organization, each with a key Tether keeps alive from the hub\n",
    );
    await memberAccountSteps({ api, admin, endpoints, stamp, step, waitFor, restoredBy, describe, decrypt });

    out(
      ok
        ? `\nEvery step did what it should, in ${seconds(performance.now() - started)}. Explore: npx tether keys show ${key?.id}`
        : "\nThe demo stopped at the step marked ✘.",
    );
    return ok;
  } finally {
    kms.destroy();
    replicaKms?.destroy();
    await ownStack?.close();
  }
}

/** The two demo members (12-digit account ids the local stack does not use otherwise). */
const MEMBERS = [
  { accountId: "222200001111", name: "demo-payments" },
  { accountId: "333300001111", name: "demo-orders" },
] as const;
/** As infra/member-account.yml names it, trusting the hub's api, sweep, sweep-partition and kms-events roles. */
const MEMBER_ROLE = "tether-member";

interface MemberContext {
  readonly api: TetherApiClient;
  readonly admin: KmsAdmin;
  readonly endpoints: LocalEndpoints;
  readonly stamp: string;
  readonly step: (title: string, run: () => Promise<string>) => Promise<void>;
  readonly waitFor: <T>(what: string, intervalMs: number, check: () => Promise<T | undefined>) => Promise<T>;
  readonly restoredBy: (keyId: string) => Promise<string>;
  readonly describe: (keyId: string, client?: KMSClient) => Promise<KeyMetadata>;
  readonly decrypt: (keyId: string, blob: Uint8Array, client?: KMSClient) => Promise<string>;
}

/**
 * Two member accounts set up the way a user would on the local stack: the member role in each (the local
 * STS's `PUT /_admin/roles`, as the member template makes it, trusting the hub's function roles with an
 * external id), an operator of each member (an IAM user of that account: `POST /_admin/identities`) who
 * creates a key there with the AWS SDK, material put in the vault (`POST /_local/vault/material`), then
 * `tether accounts add` and `tether keys register --adopt` through the API. The first member's key has a
 * one-hour validity and expires; the second's has 30 days and is left alone.
 */
async function memberAccountSteps(c: MemberContext): Promise<void> {
  const region = c.endpoints.region;
  const externalId = `tether-demo-${c.stamp}`;
  const hubRoles = ["api", "sweep", "sweep-partition", "kms-events"].map(
    (fn) => `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/tether-local-${region}-${fn}`,
  );
  const operators = new Map<string, KMSClient>();
  const keys = new Map<string, { arn: string; id: string; validTo: number; ciphertext: Uint8Array }>();
  const [first, second] = MEMBERS;
  const roleArn = (accountId: string) => `arn:aws:iam::${accountId}:role/${MEMBER_ROLE}`;
  const operator = (accountId: string) => operators.get(accountId) as KMSClient;
  const keyOf = (accountId: string) => {
    const key = keys.get(accountId);
    if (key === undefined) throw new DemoStepError(`no key in ${accountId}`);
    return key;
  };
  try {
    await c.step(
      "Two member accounts: the member role in each (local STS) and an operator of each",
      async () => {
        for (const m of MEMBERS) {
          await c.admin.putRole({
            arn: roleArn(m.accountId),
            trustPolicy: {
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Allow",
                  Principal: { AWS: hubRoles },
                  Action: "sts:AssumeRole",
                  Condition: { StringEquals: { "sts:ExternalId": externalId } },
                },
              ],
            },
          });
          const accessKeyId = `AKIADEMO${m.accountId}`;
          await c.admin.registerIdentity({
            accessKeyId,
            arn: `arn:aws:iam::${m.accountId}:user/demo-operator`,
          });
          operators.set(
            m.accountId,
            new KMSClient({
              endpoint: c.endpoints.kms,
              region,
              credentials: { accessKeyId, secretAccessKey: "demo-operator-secret" },
            }),
          );
        }
        return `${MEMBERS.map((m) => roleArn(m.accountId)).join(", ")}: trusting the hub's api, sweep, sweep-partition and kms-events roles with external id ${externalId}`;
      },
    );

    await c.step("Register them with Tether (tether accounts add): checked on add", async () => {
      const checks: string[] = [];
      for (const m of MEMBERS) {
        // A persisted stack may know them from an earlier run: remove and add again (the new external id).
        await c.api.request("DELETE", route("accounts", m.accountId)).catch(() => undefined);
        const added = (await c.api.request("POST", "/accounts", {
          body: { roleArn: roleArn(m.accountId), externalId, name: m.name },
          idempotencyKey: false,
        })) as { account: { accountId: string; check: { assumeRole: { ok: boolean }; missing: string[] } } };
        const { check } = added.account;
        if (!check.assumeRole.ok || check.missing.length > 0)
          throw new DemoStepError(
            `the check on add of ${m.accountId} found missing: ${check.missing.join(", ")}`,
          );
        checks.push(`${added.account.accountId} (${m.name}) ok`);
      }
      return `${checks.join(", ")}: the api assumed each member role and KMS answered`;
    });

    await c.step(
      "Adopt a key in each member: the member's operator creates it there, Tether imports from the vault",
      async () => {
        for (const [i, m] of MEMBERS.entries()) {
          const created = await operator(m.accountId).send(
            new CreateKeyCommand({
              Origin: "EXTERNAL",
              KeySpec: "SYMMETRIC_DEFAULT",
              KeyUsage: "ENCRYPT_DECRYPT",
            }),
          );
          const arn = created.KeyMetadata?.Arn ?? "";
          const materialRef = `demo/${m.name}-${c.stamp}`;
          const material = (await c.api.request("POST", "/_local/vault/material", {
            body: { materialRef },
          })) as { checkValue: string };
          const registered = (await c.api.request("POST", "/keys", {
            body: {
              mode: "adopt",
              keyArn: arn,
              materialRef,
              checkValue: material.checkValue,
              policy: { validityPeriod: i === 0 ? "PT1H" : "P30D", reconcileInterval: "PT1M" },
            },
          })) as KeyActionResponse;
          const m2 = await c.waitFor(`the import in ${m.accountId}`, 200, async () => {
            const d = await c.describe(arn, operator(m.accountId));
            return d.KeyState === "Enabled" ? d : undefined;
          });
          const ciphertext = (
            await operator(m.accountId).send(
              new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from(SECRET) }),
            )
          ).CiphertextBlob as Uint8Array;
          keys.set(m.accountId, {
            arn,
            id: registered.key.id,
            validTo: m2.ValidTo?.getTime() ?? 0,
            ciphertext,
          });
        }
        return MEMBERS.map(
          (m) => `${keyOf(m.accountId).arn} valid to ${new Date(keyOf(m.accountId).validTo).toISOString()}`,
        ).join("; ");
      },
    );

    await c.step("List each member's keys (tether keys list --account)", async () => {
      const lines: string[] = [];
      for (const m of MEMBERS) {
        const page = (await c.api.request("GET", "/keys", { query: { account: m.accountId } })) as {
          items: Array<{ id: string; account?: string }>;
        };
        const ids = page.items.map((k) => k.id);
        if (!ids.includes(keyOf(m.accountId).id) || page.items.some((k) => k.account !== m.accountId))
          throw new DemoStepError(`--account ${m.accountId} lists ${ids.join(", ") || "nothing"}`);
        lines.push(`--account ${m.accountId}: ${ids.length} key(s), ${keyOf(m.accountId).id} among them`);
      }
      return lines.join("; ");
    });

    await c.step(
      `Let ${first.name}'s material expire in ${first.accountId} (the clock jumps past its ValidTo)`,
      async () => {
        const key = keyOf(first.accountId);
        await c.admin.setClock(new Date(key.validTo + 1_000));
        const keyId = key.arn.split("/").pop();
        const sent = (await c.admin.events()).some(
          (e) =>
            e["detail-type"] === "KMS Imported Key Material Expiration" &&
            e.detail["key-id"] === keyId &&
            e.account === first.accountId,
        );
        if (!sent) throw new DemoStepError(`KMS sent no expiration event in ${first.accountId}`);
        return `KMS deleted the material in ${first.accountId} and sent its expiration event (account ${first.accountId}) to the bus`;
      },
    );

    await c.step(`Watch Tether restore it in ${first.accountId}, through the member role`, async () => {
      const key = keyOf(first.accountId);
      const client = operator(first.accountId);
      const m = await c.waitFor("the member's restore", 200, async () => {
        const d = await c.describe(key.arn, client);
        return d.KeyState === "Enabled" && (d.ValidTo?.getTime() ?? 0) > key.validTo ? d : undefined;
      });
      const by = await c.restoredBy(key.id);
      if (by !== "tether:kms-events" && by !== "tether:sweep")
        throw new DemoStepError(`the last restore was by ${by}, not Tether`);
      if ((await c.decrypt(key.arn, key.ciphertext, client)) !== SECRET)
        throw new DemoStepError("Decrypt in the member returned something else");
      return `key Enabled again in ${first.accountId} by ${by}, valid to ${m.ValidTo?.toISOString()}; the member's operator decrypts the secret`;
    });

    await c.step(`The other member, ${second.accountId}, was untouched`, async () => {
      const key = keyOf(second.accountId);
      const client = operator(second.accountId);
      const d = await c.describe(key.arn, client);
      if (d.KeyState !== "Enabled" || d.ValidTo?.getTime() !== key.validTo)
        throw new DemoStepError(`its key is ${d.KeyState}, valid to ${d.ValidTo?.toISOString()}: it changed`);
      const by = await c.restoredBy(key.id);
      if (by !== "nobody") throw new DemoStepError(`its key was restored by ${by}`);
      if ((await c.decrypt(key.arn, key.ciphertext, client)) !== SECRET)
        throw new DemoStepError("Decrypt in the member returned something else");
      return `key still Enabled, the same ValidTo (${d.ValidTo?.toISOString()}), never restored; the secret decrypts`;
    });
  } finally {
    for (const client of operators.values()) client.destroy();
  }
}

/** The endpoints of a running `npm start`, if the file exists and its API answers. */
async function runningStack(file: string): Promise<LocalEndpoints | undefined> {
  let parsed: EndpointsFile;
  try {
    parsed = JSON.parse(await readFile(file, "utf8")) as EndpointsFile;
  } catch {
    return undefined;
  }
  try {
    const health = await fetch(`${parsed.api}/health`, { signal: AbortSignal.timeout(2_000) });
    return health.ok ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().then(
    (ok) => {
      process.exitCode = ok ? 0 : 1;
      // The in-memory stack is closed; a stray timer must not keep the terminal waiting.
      setTimeout(() => process.exit(), 1_000).unref();
    },
    (error: unknown) => {
      process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
