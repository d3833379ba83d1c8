import { Logger } from "@aws-lambda-powertools/logger";
import { createLifecycleDeps } from "../lib/composition-root.js";
import { loadConfig } from "../lib/config.js";
import type { MemberActor } from "../lib/domain/member-account.js";
import type { LifecycleDeps } from "../lib/lifecycle/ports.js";
import { vaultFromEnv, withVaultSecret } from "../lib/vault/from-config.js";
import type { Vault } from "../lib/vault/port.js";
import { functionsClock, setFunctionsClock } from "./clock.js";

/**
 * What every function shares, built once per cold start: configuration (validated, failing with the
 * name of what is missing), the logger, SDK clients and adapters.
 */
export const logger = new Logger({ serviceName: "tether" });
export const config = loadConfig();
/** The vault's secret, when given by reference (TETHER_VAULT_SECRET_REF), read now, during init. */
const vaultEnv = await withVaultSecret(process.env);

/** The deps per acting function: one in Lambda (a process runs one function), one each in the local runner. */
const depsByActor = new Map<MemberActor, LifecycleDeps>();
let vault: Vault | undefined;

/**
 * Gives the functions another "now" than the system clock: the local runner (`npm start`) runs them on the
 * KMS emulator's clock, so one clock move reaches the whole local stack. Lambda never calls it.
 * @throws Error once the dependencies are built (the first invocation): a clock changed then would not hold
 */
export function useClock(next: () => Date): void {
  if (depsByActor.size > 0) throw new Error("useClock: the functions' dependencies are already built");
  setFunctionsClock(next);
}

/**
 * The use cases' ports; built on first use so a handler's tests can inject their own first. `actor`: the
 * function asking, whose sessions in member accounts are named after it (`tether-sweep`); the vault is one
 * per process whoever asks.
 */
export function lifecycleDeps(actor: MemberActor = "api"): LifecycleDeps {
  const built = depsByActor.get(actor);
  if (built !== undefined) return built;
  const clock = functionsClock();
  // The vault agent's requests carry times: on the functions' clock, as everything else.
  vault ??= vaultFromEnv(vaultEnv, clock === undefined ? {} : { clock });
  const deps = createLifecycleDeps(config, {
    vault,
    ...(clock === undefined ? {} : { clock }),
    workerId: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    log: (level, message, fields) => logger[level](message, fields),
    actor,
  });
  depsByActor.set(actor, deps);
  return deps;
}
