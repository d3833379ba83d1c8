import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import { ErrorCode } from "./error-code.js";
import { HttpError } from "./http-error.js";
import { Access } from "./route.js";

/** The two roles, each a test on an IAM principal ARN (lib/config.ts builds them from parsed ARNs). */
export interface Roles {
  readonly isAdmin: (principalArn: string) => boolean;
  readonly isReader: (principalArn: string) => boolean;
  /** Vault agents (absent: none); they may call the agent routes and nothing else. */
  readonly isAgent?: ((principalArn: string) => boolean) | undefined;
}

/** Who a public route's caller is, for logs. */
export const ANONYMOUS = "anonymous";

/**
 * The caller's principal ARN from API Gateway's IAM authorizer context, checked against the route's access.
 * Admins may do everything; readers may read; anyone else — or a request with no IAM identity at all,
 * which API Gateway would not pass on but a misrouted or local call might — is refused.
 * @throws HttpError 403 (Unauthorized without an identity, Forbidden with one that may not do this)
 */
export function authorize(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  access: Access,
  roles: Roles,
): string {
  if (access === Access.Public) return ANONYMOUS;
  const arn = callerArnOf(event);
  if (arn === undefined) {
    throw new HttpError(403, ErrorCode.Unauthorized, "No IAM identity: sign the request with SigV4.");
  }
  if (access === Access.Agent) {
    if (roles.isAgent?.(arn) === true) return arn;
    throw new HttpError(
      403,
      ErrorCode.Forbidden,
      "Only a vault agent (TETHER_AGENT_PRINCIPALS) may do this.",
    );
  }
  if (roles.isAdmin(arn)) return arn;
  if (access === Access.Read && roles.isReader(arn)) return arn;
  throw new HttpError(
    403,
    ErrorCode.Forbidden,
    access === Access.Admin && roles.isReader(arn)
      ? "Readers may not change keys; this needs an admin."
      : "This identity is not allowed to use the Tether API.",
  );
}

/** The principal ARN API Gateway's IAM authorizer verified, or undefined when the request carries none. */
export function callerArnOf(event: APIGatewayProxyEventV2WithIAMAuthorizer): string | undefined {
  const arn: unknown = event?.requestContext?.authorizer?.iam?.userArn;
  return typeof arn === "string" && arn.trim() !== "" ? arn : undefined;
}
