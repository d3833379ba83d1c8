/**
 * RSA wrapping key pairs for GetParametersForImport. Generating RSA keys is the slow part (RSA_4096
 * takes seconds), so a few pairs per spec are generated ahead, off the event loop (async
 * generateKeyPair runs in libuv's thread pool), and refilled in the background. Every pair is handed
 * out once: each call gets its own distinct pair.
 */
import { generateKeyPair } from "node:crypto";
import type { RsaWrappingKeySpec } from "./domain/key-specs.js";

export interface WrappingKeyPair {
  /** DER SubjectPublicKeyInfo, as GetParametersForImport returns it. */
  publicKeyDer: Buffer;
  /** PKCS#8 DER. */
  privateKeyDer: Buffer;
}

const BITS: Record<RsaWrappingKeySpec, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };
const TARGET: Record<RsaWrappingKeySpec, number> = { RSA_2048: 4, RSA_3072: 2, RSA_4096: 2 };

function generate(spec: RsaWrappingKeySpec): Promise<WrappingKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      "rsa",
      {
        modulusLength: BITS[spec],
        publicKeyEncoding: { type: "spki", format: "der" },
        privateKeyEncoding: { type: "pkcs8", format: "der" },
      },
      (err, publicKeyDer, privateKeyDer) => {
        if (err) reject(err);
        else resolve({ publicKeyDer, privateKeyDer });
      },
    );
  });
}

export class WrappingKeyPool {
  private readonly ready: Record<RsaWrappingKeySpec, WrappingKeyPair[]> = {
    RSA_2048: [],
    RSA_3072: [],
    RSA_4096: [],
  };
  private readonly filling: Record<RsaWrappingKeySpec, number> = { RSA_2048: 0, RSA_3072: 0, RSA_4096: 0 };
  private closed = false;

  constructor(private readonly log: (line: string) => void) {}

  /** Starts filling the pool for these specs in the background. */
  warm(specs: readonly RsaWrappingKeySpec[]): void {
    for (const spec of specs) this.refill(spec);
  }

  /** A fresh pair, from the pool when one is ready. */
  async take(spec: RsaWrappingKeySpec): Promise<WrappingKeyPair> {
    const pair = this.ready[spec].shift();
    this.refill(spec);
    return pair ?? generate(spec);
  }

  close(): void {
    this.closed = true;
    for (const spec of Object.keys(this.ready) as RsaWrappingKeySpec[]) this.ready[spec].length = 0;
  }

  private refill(spec: RsaWrappingKeySpec): void {
    while (!this.closed && this.ready[spec].length + this.filling[spec] < TARGET[spec]) {
      this.filling[spec] += 1;
      generate(spec)
        .then((pair) => {
          if (!this.closed) this.ready[spec].push(pair);
        })
        .catch((err: unknown) => this.log(`wrapping key pool: ${spec} generation failed: ${String(err)}`))
        .finally(() => {
          this.filling[spec] -= 1;
        });
    }
  }
}
