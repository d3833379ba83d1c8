/**
 * The local stack's vault agent (`npm start -- --agent`, tests): the deployment's request-signing key in the
 * KMS emulator, and an agent talking to the local API over HTTP exactly as it would to API Gateway, signed
 * with the local agent identity, the local file vault its backend.
 */
import { join } from "node:path";
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { parsePublicKey, VaultAgent } from "../../../lib/agent/agent.js";
import { AgentLog } from "../../../lib/agent/agent-log.js";
import { TetherApiClient } from "../../../lib/cli/client.js";
import {
  DEFAULT_AGENT_CLOCK_SKEW_MS,
  DEFAULT_AGENT_MAX_LIFETIME_MS,
} from "../../../lib/domain/agent-protocol.js";
import type { Vault } from "../../../lib/lifecycle/ports.js";
import { LOCAL_ACCOUNT_ID, LOCAL_SERVICE_CREDENTIALS, type LocalIdentity } from "./identities.js";
import type { LocalVault } from "./local-vault.js";

/** Creates the deployment's signing key (RSA_2048, SIGN_VERIFY) and reads its public key. */
export async function createAgentSigningKey(
  kmsEndpoint: string,
  region: string,
): Promise<{ signingKeyArn: string; publicKeyPem: string }> {
  const kms = new KMSClient({ endpoint: kmsEndpoint, region, credentials: LOCAL_SERVICE_CREDENTIALS });
  try {
    const created = await kms.send(
      new CreateKeyCommand({
        KeyUsage: "SIGN_VERIFY",
        KeySpec: "RSA_2048",
        Description: "Tether local: signs vault agent requests",
      }),
    );
    const signingKeyArn = created.KeyMetadata?.Arn as string;
    const out = await kms.send(new GetPublicKeyCommand({ KeyId: signingKeyArn }));
    const publicKeyPem = parsePublicKey(Buffer.from(out.PublicKey as Uint8Array).toString("base64"))
      .export({ type: "spki", format: "pem" })
      .toString();
    return { signingKeyArn, publicKeyPem };
  } finally {
    kms.destroy();
  }
}

export interface LocalAgentOptions {
  readonly apiUrl: string;
  readonly region: string;
  readonly regions: readonly string[];
  readonly deployment: string;
  readonly logFile: string;
  readonly name?: string;
  readonly report?: (line: string) => void;
  /** The stack's clock (the emulator's), as the functions have it. */
  readonly clock?: () => Date;
  /** Its backend instead of the stack's file vault (a test's, e.g. one limited to some wrappings). */
  readonly backend?: Vault;
  /** Its log, opened by the caller (the soak counts its replay store); default: `logFile` opened here. */
  readonly log?: AgentLog;
}

/** An agent for the local stack (not yet polling): its backend the stack's file vault. */
export async function localAgent(
  setup: { publicKeyPem: string; identity: LocalIdentity; vault: LocalVault },
  options: LocalAgentOptions,
): Promise<VaultAgent> {
  const api = new TetherApiClient({
    apiUrl: options.apiUrl,
    region: options.region,
    credentials: { accessKeyId: setup.identity.accessKeyId, secretAccessKey: setup.identity.secretAccessKey },
    timeoutMs: 10_000,
  });
  return new VaultAgent({
    api,
    name: options.name ?? "local-agent",
    backend: options.backend ?? setup.vault.vault,
    publicKeys: [parsePublicKey(setup.publicKeyPem)],
    policy: {
      deployments: [options.deployment],
      // Every reference of the local vault: the demo's, the tests' and the sentinels'.
      materialPrefixes: ["demo", "my", "test", "tether-sentinel", "bench"],
      accounts: [LOCAL_ACCOUNT_ID],
      regions: options.regions,
      maxLifetimeMs: DEFAULT_AGENT_MAX_LIFETIME_MS,
      clockSkewMs: DEFAULT_AGENT_CLOCK_SKEW_MS,
    },
    log: options.log ?? (await AgentLog.open(options.logFile, undefined, options.clock?.() ?? new Date())),
    ...(options.report === undefined ? {} : { report: options.report }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
}

/** Starts the local agent's poll loop; the returned function stops it. */
export async function startLocalAgent(
  setup: { publicKeyPem: string; identity: LocalIdentity; vault: LocalVault },
  options: LocalAgentOptions & { pollMs: number },
): Promise<() => Promise<void>> {
  const agent = await localAgent(setup, options);
  const controller = new AbortController();
  const running = agent.run(controller.signal, options.pollMs);
  options.report?.(`vault agent: polling ${options.apiUrl} (log ${join(options.logFile)})`);
  return async () => {
    controller.abort();
    await running;
  };
}
