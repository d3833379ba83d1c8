/**
 * RSA wrapping key pairs for GetParametersForImport. Generating RSA keys is the slow part (RSA_4096
 * takes seconds), so a few pairs per spec are generated ahead, off the event loop (async
 * generateKeyPair runs in libuv's thread pool), and refilled in the background. Every pair is handed
 * out once: each call gets its own distinct pair.
 *
 * Test runs that need thousands of pairs (the model-based reliability test) can opt into pairs built
 * from a small, growing set of primes (`sharedPrimes`, or TETHER_LOCAL_KMS_SHARED_PRIME_WRAPPING_KEYS=1):
 * k primes give k(k-1)/2 distinct moduli of the full size, so a pair costs a modular inverse instead of a
 * prime search (about 150 ms of CPU for RSA_2048). Every pair is still distinct and handed out once, and
 * a public key used with another call's token still fails to unwrap; what is lost is secrecy (moduli
 * that share a prime are factored by a GCD), so this mode must never wrap material anyone cares about.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, generatePrime } from "node:crypto";
import type { RsaWrappingKeySpec } from "./domain/key-specs.js";

export interface WrappingKeyPair {
  /** DER SubjectPublicKeyInfo, as GetParametersForImport returns it. */
  publicKeyDer: Buffer;
  /** PKCS#8 DER. */
  privateKeyDer: Buffer;
}

export interface WrappingKeyPoolOptions {
  /** Build pairs from shared primes (tests only, see above). Default: the environment variable. */
  sharedPrimes?: boolean;
}

/** Opts the emulator's pool into shared-prime pairs when set to "1". */
export const SHARED_PRIME_ENV = "TETHER_LOCAL_KMS_SHARED_PRIME_WRAPPING_KEYS";

const BITS: Record<RsaWrappingKeySpec, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };
const TARGET: Record<RsaWrappingKeySpec, number> = { RSA_2048: 4, RSA_3072: 2, RSA_4096: 2 };
const PUBLIC_EXPONENT = 65537n;

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
  private readonly shared: Record<RsaWrappingKeySpec, SharedPrimePairs> | undefined;
  private closed = false;

  constructor(
    private readonly log: (line: string) => void,
    options: WrappingKeyPoolOptions = {},
  ) {
    const sharedPrimes = options.sharedPrimes ?? process.env[SHARED_PRIME_ENV] === "1";
    this.shared = sharedPrimes
      ? {
          RSA_2048: new SharedPrimePairs(BITS.RSA_2048),
          RSA_3072: new SharedPrimePairs(BITS.RSA_3072),
          RSA_4096: new SharedPrimePairs(BITS.RSA_4096),
        }
      : undefined;
    if (sharedPrimes) log("wrapping key pool: shared-prime pairs (test mode, not secret)");
  }

  /** Starts filling the pool for these specs in the background. */
  warm(specs: readonly RsaWrappingKeySpec[]): void {
    if (this.shared !== undefined) return;
    for (const spec of specs) this.refill(spec);
  }

  /** A fresh pair, from the pool when one is ready. */
  async take(spec: RsaWrappingKeySpec): Promise<WrappingKeyPair> {
    if (this.shared !== undefined) return this.shared[spec].take();
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

/**
 * Distinct RSA pairs of `bits` from primes of bits/2: the pairs (p_i, p_j), i < j, in order of j, with a
 * new prime generated when they run out.
 */
export class SharedPrimePairs {
  private readonly primes: bigint[] = [];
  private i = 0;
  private j = 1;
  /** Serialises take(): each call gets the next (i, j). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly bits: number) {}

  take(): Promise<WrappingKeyPair> {
    const turn = this.tail.then(() => this.next());
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async next(): Promise<WrappingKeyPair> {
    while (this.primes.length <= this.j) this.primes.push(await this.prime());
    const p = this.primes[this.j] as bigint;
    const q = this.primes[this.i] as bigint;
    this.i += 1;
    if (this.i === this.j) {
      this.j += 1;
      this.i = 0;
    }
    return pairOf(p, q);
  }

  /** A prime of bits/2 with its two top bits set (so any product has exactly `bits` bits) and
   *  p - 1 coprime to the public exponent. */
  private async prime(): Promise<bigint> {
    const half = this.bits / 2;
    for (;;) {
      const candidate = await new Promise<bigint>((resolve, reject) =>
        generatePrime(half, { bigint: true }, (err, prime) => (err ? reject(err) : resolve(prime))),
      );
      if (candidate >> BigInt(half - 2) !== 3n) continue;
      if ((candidate - 1n) % PUBLIC_EXPONENT === 0n) continue;
      if (this.primes.includes(candidate)) continue;
      return candidate;
    }
  }
}

function pairOf(p: bigint, q: bigint): WrappingKeyPair {
  const n = p * q;
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(PUBLIC_EXPONENT, lambda);
  const jwk = {
    kty: "RSA",
    n: b64u(n),
    e: b64u(PUBLIC_EXPONENT),
    d: b64u(d),
    p: b64u(p),
    q: b64u(q),
    dp: b64u(d % (p - 1n)),
    dq: b64u(d % (q - 1n)),
    qi: b64u(modInverse(q, p)),
  };
  const privateKey = createPrivateKey({ key: jwk, format: "jwk" });
  return {
    publicKeyDer: createPublicKey(privateKey).export({ type: "spki", format: "der" }),
    privateKeyDer: privateKey.export({ type: "pkcs8", format: "der" }),
  };
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** a⁻¹ mod m (extended Euclid); a and m coprime. */
function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new RangeError("not invertible");
  return ((oldS % m) + m) % m;
}

/** Unsigned big-endian base64url, as JWK writes RSA integers (RFC 7518 §6.3). */
function b64u(value: bigint): string {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, "hex").toString("base64url");
}
