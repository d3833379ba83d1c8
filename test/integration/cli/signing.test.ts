import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeApi, keyView, startFakeApi } from "./fake-api.js";
import { emptyWorkingDirectory, runCli, TEST_CREDENTIALS } from "./run-cli.js";
import { verifyWithSecret } from "./sigv4-reference.js";

describe("CLI request signing (checked by an independent SigV4 implementation)", () => {
  let api: FakeApi;
  let cwd: { path: string; remove(): Promise<void> };

  beforeAll(async () => {
    api = await startFakeApi();
    cwd = await emptyWorkingDirectory();
  });
  afterAll(async () => {
    await api.close();
    await cwd.remove();
  });
  /** The i-th request the fake API got (failing the test if there is none). */
  const received = (i: number) => {
    const request = api.requests[i];
    if (request === undefined) throw new Error(`the API got ${api.requests.length} requests, not ${i + 1}`);
    return request;
  };

  beforeEach(() => {
    api.requests.length = 0;
    api.answer(() => ({ status: 200, body: { items: [] } }));
  });

  it("signs a GET with a query for execute-api in the default Region, host and x-amz-date signed", async () => {
    const run = await runCli(
      [
        "keys",
        "list",
        "--status",
        "active",
        "--account",
        "222233334444",
        "--limit",
        "5",
        "--api-url",
        api.url,
      ],
      { cwd: cwd.path },
    );

    expect(run.code).toBe(0);
    const request = received(0);
    expect(request?.url).toBe("/keys?status=active&account=222233334444&limit=5");
    const check = verifyWithSecret(request, TEST_CREDENTIALS.secretAccessKey);
    expect(check.valid).toBe(true);
    expect(check).toMatchObject({
      accessKeyId: TEST_CREDENTIALS.accessKeyId,
      region: "eu-west-1",
      service: "execute-api",
    });
    expect(check.signedHeaders).toEqual(expect.arrayContaining(["host", "x-amz-date"]));
  });

  it("fails the reference check with another secret (the check can fail)", async () => {
    await runCli(["keys", "list", "--api-url", api.url], { cwd: cwd.path });

    expect(verifyWithSecret(received(0), "some-other-secret").valid).toBe(false);
  });

  it("signs a POST body and an alias id encoded as one path segment", async () => {
    api.answer(() => ({
      status: 200,
      body: { key: keyView({ status: { state: "revoked" } }), regions: {} },
    }));

    const run = await runCli(
      ["keys", "revoke", "alias/payments/prod", "--reason", "incident 42", "--api-url", api.url],
      { cwd: cwd.path },
    );

    expect(run.code).toBe(0);
    const request = received(0);
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/keys/alias%2Fpayments%2Fprod/revoke");
    expect(JSON.parse(request.body.toString("utf8"))).toEqual({ reason: "incident 42" });
    const check = verifyWithSecret(request, TEST_CREDENTIALS.secretAccessKey);
    expect(check.valid).toBe(true);
    expect(check.signedHeaders).toEqual(expect.arrayContaining(["content-type", "idempotency-key"]));
    // The canonical URI double-encodes the already encoded segment, as AWS requires for non-S3 services.
    expect(check.canonicalRequest.split("\n")[1]).toBe("/keys/alias%252Fpayments%252Fprod/revoke");
  });

  it("signs a next token with characters that need encoding", async () => {
    await runCli(
      ["keys", "history", "tk_01JX0000000000000000000000", "--next-token", "a+b/c= d", "--api-url", api.url],
      {
        cwd: cwd.path,
      },
    );

    const request = received(0);
    expect(new URL(request.url, "http://x").searchParams.get("nextToken")).toBe("a+b/c= d");
    expect(verifyWithSecret(request, TEST_CREDENTIALS.secretAccessKey).valid).toBe(true);
  });

  it("keeps a stage path of the API URL and signs it", async () => {
    await runCli(["keys", "show", "tk_01JX0000000000000000000000", "--api-url", `${api.url}/prod/`], {
      cwd: cwd.path,
    });

    const request = received(0);
    expect(request?.url).toBe("/prod/keys/tk_01JX0000000000000000000000");
    expect(verifyWithSecret(request, TEST_CREDENTIALS.secretAccessKey).valid).toBe(true);
  });

  it("takes the signing Region from --region, or AWS_REGION", async () => {
    await runCli(["keys", "list", "--region", "us-east-1", "--api-url", api.url], { cwd: cwd.path });
    await runCli(["keys", "list", "--api-url", api.url], {
      cwd: cwd.path,
      env: { AWS_REGION: "ap-south-1" },
    });

    expect(api.requests.map((r) => verifyWithSecret(r, TEST_CREDENTIALS.secretAccessKey))).toMatchObject([
      { valid: true, region: "us-east-1" },
      { valid: true, region: "ap-south-1" },
    ]);
  });

  it("in register, --region is the key's Region; the signing Region comes from --api-region or AWS_REGION", async () => {
    api.answer(() => ({
      status: 201,
      body: { key: keyView(), regions: { "us-east-1": { kind: "imported" } } },
    }));
    const register = ["keys", "register", "--region", "us-east-1", "--key-spec", "SYMMETRIC_DEFAULT"];

    await runCli([...register, "--material-ref", "a/b", "--api-url", api.url], { cwd: cwd.path });
    await runCli(
      [...register, "--material-ref", "a/b", "--api-url", api.url, "--api-region", "eu-central-1"],
      {
        cwd: cwd.path,
      },
    );

    const [first, second] = api.requests.map((r) => verifyWithSecret(r, TEST_CREDENTIALS.secretAccessKey));
    expect(first).toMatchObject({ valid: true, region: "eu-west-1" });
    expect(second).toMatchObject({ valid: true, region: "eu-central-1" });
    expect(JSON.parse(received(0).body.toString("utf8"))).toMatchObject({ region: "us-east-1" });
  });

  it("finds the API in TETHER_API_URL, then in .local/endpoints.json of the working directory", async () => {
    const withFile = await emptyWorkingDirectory();
    try {
      await mkdir(join(withFile.path, ".local"));
      await writeFile(
        join(withFile.path, ".local", "endpoints.json"),
        JSON.stringify({ api: `${api.url}/from-file` }),
      );

      await runCli(["keys", "list"], { cwd: withFile.path });
      await runCli(["keys", "list"], { cwd: withFile.path, env: { TETHER_API_URL: `${api.url}/from-env` } });

      expect(api.requests.map((r) => r.url)).toEqual(["/from-file/keys", "/from-env/keys"]);
    } finally {
      await withFile.remove();
    }
  });
});
