import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { SigningCredentials } from "./client.js";

/**
 * The standard AWS credential chain (env, profiles, SSO, instance roles). A module of its own so that
 * lib/cli/main.ts can load it on first use (the packaged CLI keeps it in a chunk of its own).
 */
export function providerChain(profile: string | undefined): SigningCredentials {
  return fromNodeProviderChain(profile === undefined ? {} : { profile });
}
