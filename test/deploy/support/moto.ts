import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

export const MOTO_REGION = "eu-west-1";
export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };

/** Whether `python3 -m moto.server` can run here (it is on the CI image, not on every laptop). */
export function motoAvailable(): boolean {
  const probe = spawnSync("python3", ["-c", "import moto.server, flask"], { stdio: "ignore" });
  return probe.status === 0;
}

export interface MotoServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts moto's server on a free port of 127.0.0.1 and waits until it answers. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`moto.server exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error("moto.server did not start");
}

/**
 * One SQS call in the JSON protocol, signed with SigV4 (the project has no SQS client; the request is what
 * @aws-sdk/client-sqs would send). https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/sqs-json-faqs.html
 */
export async function sqsCall<T>(
  endpoint: string,
  operation: string,
  body: Record<string, unknown>,
): Promise<T> {
  const url = new URL(endpoint);
  const request = new HttpRequest({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: {
      host: url.host,
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `AmazonSQS.${operation}`,
    },
    body: JSON.stringify(body),
  });
  const signer = new SignatureV4({
    service: "sqs",
    region: MOTO_REGION,
    credentials: MOTO_CREDENTIALS,
    sha256: Sha256,
  });
  const signed = await signer.sign(request);
  const response = await fetch(endpoint, {
    method: "POST",
    headers: signed.headers as Record<string, string>,
    body: signed.body as string,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SQS ${operation} failed: ${response.status} ${text}`);
  return JSON.parse(text === "" ? "{}" : text) as T;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
