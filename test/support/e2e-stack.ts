/**
 * The local stack as every test/e2e file starts it: in memory, every port ephemeral (files may run side by
 * side), the sweep only through sweepNow() unless a file asks for a schedule, functions' logs at ERROR.
 * One stack per process (the runner's rule), so one per test file, started in beforeAll.
 */
import { KMSClient } from "@aws-sdk/client-kms";
import {
  LOCAL_ADMIN,
  LOCAL_ADMIN_2,
  LOCAL_READER,
  LOCAL_SERVICE_CREDENTIALS,
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from "../../infra/local/runner/index.js";

/** The beforeAll timeout for startE2eStack (loading every function's module is the slow part). */
export const E2E_STACK_START_MS = 60_000;

/** The local admin's signing credentials, as signedFetch and runCli take them. */
export const ADMIN = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };
/** The second local admin's (another person: approves what ADMIN asks under dual control). */
export const ADMIN_2 = {
  accessKeyId: LOCAL_ADMIN_2.accessKeyId,
  secretAccessKey: LOCAL_ADMIN_2.secretAccessKey,
};
/** The local read-only identity's signing credentials. */
export const READER = {
  accessKeyId: LOCAL_READER.accessKeyId,
  secretAccessKey: LOCAL_READER.secretAccessKey,
};

/** What an e2e file may choose; storage and ports are always in memory and ephemeral. */
export type E2eStackOptions = Omit<LocalStackOptions, "memory" | "dataDir" | "ports" | "endpointsFile">;

export async function startE2eStack(options: E2eStackOptions = {}): Promise<LocalStack> {
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  return startLocalStack({
    sweepIntervalMs: 0,
    ...options,
    memory: true,
    ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
  });
}

/** A KMS client on the stack's emulator (home Region by default), with the functions' (service) credentials. */
export function stackKmsClient(stack: LocalStack, region: string = stack.region): KMSClient {
  return new KMSClient({
    endpoint: stack.endpoints.kms,
    region,
    credentials: LOCAL_SERVICE_CREDENTIALS,
  });
}
