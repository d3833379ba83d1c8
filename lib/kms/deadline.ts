/**
 * The time by which the current invocation must have answered, carried through async calls so the KMS
 * rate limiter can refuse a wait that would outlast it. API Gateway stops waiting for the API function
 * after 29 s and answers 500 on its own; a request queued behind GetParametersForImport's 1/s quota must
 * rather fail in time, as a throttle the caller can retry.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
import { AsyncLocalStorage } from "node:async_hooks";

const deadlines = new AsyncLocalStorage<number>();

/** Runs `work` with a deadline (epoch ms) that the KMS rate limiter honours for every call inside it. */
export function withDeadline<T>(deadlineMs: number, work: () => Promise<T>): Promise<T> {
  return deadlines.run(deadlineMs, work);
}

/** The deadline of the work this code runs in, if it has one. */
export function currentDeadline(): number | undefined {
  return deadlines.getStore();
}
