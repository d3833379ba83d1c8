/**
 * A small stand-in for Tether's API for the CLI's tests: a real HTTP server on 127.0.0.1 (port 0) that
 * records each request and answers with what the test scripts, in the API's own shapes.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { KeyView } from "../../../lib/api/schemas.js";
import type { ReceivedRequest } from "./sigv4-reference.js";

export interface FakeAnswer {
  readonly status: number;
  /** An object is sent as JSON; a string as is (e.g. an HTML error page). */
  readonly body?: unknown;
  /** Never answer (to exercise the client's timeout). */
  readonly hang?: boolean;
}

export type FakeHandler = (request: ReceivedRequest) => FakeAnswer;

export interface FakeApi {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  answer(handler: FakeHandler): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeApi(): Promise<FakeApi> {
  const requests: ReceivedRequest[] = [];
  let handler: FakeHandler = () => ({
    status: 500,
    body: { error: { code: "InternalError", message: "no handler", requestId: "r-0" } },
  });
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const received: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
      };
      requests.push(received);
      const answer = handler(received);
      if (answer.hang) return;
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? {});
      const type = typeof answer.body === "string" ? "text/html" : "application/json";
      res.writeHead(answer.status, { "content-type": type }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(next) {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The API's error body. */
export function apiError(status: number, code: string, message: string, field?: string): FakeAnswer {
  return {
    status,
    body: { error: { code, message, ...(field ? { field } : {}), requestId: `req-${status}` } },
  };
}

export const NOW = new Date("2025-06-01T12:00:00.000Z");

/** A managed key as the API shows it (two Regions of a Multi-Region key). */
export function keyView(overrides: Partial<KeyView> = {}): KeyView {
  return {
    id: "tk_01JX0000000000000000000000",
    kmsKeyId: "mrk-1234abcd12ab34cd56ef1234567890ab",
    keyArn: "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    account: "111122223333",
    primaryRegion: "eu-west-1",
    keySpec: "SYMMETRIC_DEFAULT",
    multiRegion: true,
    alias: "alias/payments",
    materialRef: "payments/k1",
    checkValue: "kcv-aes:1A2B3C",
    policy: {
      validityPeriod: "P30D",
      renewBefore: "P7D",
      restoreAfterLoss: true,
      restoreAfterOutOfBandDelete: false,
    },
    status: { state: "active" },
    version: 3,
    createdAt: "2025-05-01T12:00:00.000Z",
    updatedAt: "2025-05-25T12:00:00.000Z",
    regions: [
      {
        region: "eu-west-1",
        keyArn: "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        materialExpected: true,
        lastImportedAt: "2025-05-25T12:00:00.000Z",
        importedValidTo: "2025-06-24T12:00:00.000Z",
        lastObservedKeyState: "Enabled",
        lastObservedAt: "2025-06-01T06:00:00.000Z",
        nextCheckAt: "2025-06-01T18:00:00.000Z",
        consecutiveFailures: 0,
      },
      {
        region: "us-east-1",
        keyArn: "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        materialExpected: false,
        lossCause: "regional-loss",
        lossDetectedAt: "2025-06-01T11:00:00.000Z",
        lastObservedKeyState: "PendingImport",
        nextCheckAt: "2025-06-01T12:00:00.000Z",
        consecutiveFailures: 2,
        lastFailure: "KmsThrottledError",
      },
    ],
    ...overrides,
  };
}
