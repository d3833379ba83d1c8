import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";

/** One KMS client per Region, created on first use and reused (Lambda keeps them across invocations). */
export interface KmsClients {
  forRegion(region: string): KMSClient;
}

export interface KmsClientsOptions {
  /** Endpoint override (the local KMS emulator); absent on AWS. */
  readonly endpoint?: string | undefined;
  /** SDK attempts per call, including the first; throttling retries back off with jitter. Default 4. */
  readonly maxAttempts?: number | undefined;
  /** Anything else the SDK takes (credentials, request handler) — tests use it. */
  readonly clientConfig?: Omit<KMSClientConfig, "region" | "endpoint" | "maxAttempts"> | undefined;
}

/**
 * Builds the per-Region clients. The SDK's standard retry strategy gives exponential backoff with full
 * jitter on ThrottlingException and transient errors, so Tether does not write its own.
 */
export function kmsClients(options: KmsClientsOptions = {}): KmsClients {
  const clients = new Map<string, KMSClient>();
  return {
    forRegion(region) {
      let client = clients.get(region);
      if (client === undefined) {
        client = new KMSClient({
          ...options.clientConfig,
          region,
          maxAttempts: options.maxAttempts ?? 4,
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        });
        clients.set(region, client);
      }
      return client;
    },
  };
}
