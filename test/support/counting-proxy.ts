/**
 * An HTTP proxy in front of a local AWS service that counts the requests it forwards by their operation
 * (the `X-Amz-Target` header of the JSON protocols, e.g. `DynamoDB_20120810.Query` → `Query`) and, for a
 * DynamoDB request on an index, the index (`Query:due`), so a test can say what a piece of work costs in
 * requests, as AWS bills them.
 */
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";

export interface CountingProxy {
  /** The proxy's URL: give it to the client instead of the service's. */
  readonly url: string;
  /** Requests forwarded since the last reset, by operation. */
  counts(): Record<string, number>;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  let counts: Record<string, number> = {};
  const server = createServer((req, res) => {
    const header = req.headers["x-amz-target"];
    const operation =
      String(Array.isArray(header) ? header[0] : (header ?? "unknown"))
        .split(".")
        .pop() ?? "";
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const name = `${operation}${indexOf(body)}`;
      counts[name] = (counts[name] ?? 0) + 1;
      const forward = httpRequest(
        {
          hostname: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: to.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `:<IndexName>` of a DynamoDB request on an index; empty otherwise. */
function indexOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { IndexName?: unknown };
    return typeof parsed.IndexName === "string" ? `:${parsed.IndexName}` : "";
  } catch {
    return "";
  }
}
