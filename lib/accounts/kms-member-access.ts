import { DescribeKeyCommand, KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import type { CheckStep } from "../domain/member-account.js";
import { MemberAccessError } from "../domain/member-account.js";
import type { MemberAccess, MemberRole } from "../lifecycle/ports.js";
import type { StsMemberCredentials } from "./sts-member-credentials.js";

export interface KmsMemberAccessOptions {
  readonly credentials: StsMemberCredentials;
  /** KMS's endpoint (locally the emulator's); absent in AWS. */
  readonly kmsEndpoint?: string | undefined;
  /** Where ListKeys runs when the caller names no Region (the home Region). */
  readonly region: string;
}

/** A refusal as a check step: the SDK's error name is the code (AccessDeniedException, NotFoundException, ...). */
function refused(error: unknown): CheckStep {
  const code =
    error instanceof MemberAccessError ? error.code : error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, code, message };
}

/**
 * The check on add, over the real services: a fresh AssumeRole as the api (no cache: a trust just changed
 * shows), then, with those credentials, DescribeKey of the probe key or ListKeys (Limit 1).
 */
export class KmsMemberAccess implements MemberAccess {
  constructor(private readonly options: KmsMemberAccessOptions) {}

  async check(
    member: MemberRole,
    probe: { keyArn?: string | undefined; region?: string | undefined },
  ): Promise<{ assumeRole: CheckStep; kms?: CheckStep | undefined }> {
    let credentials: Awaited<ReturnType<StsMemberCredentials["assume"]>>;
    try {
      credentials = await this.options.credentials.assume(member, "api");
    } catch (error) {
      return { assumeRole: refused(error) };
    }
    const kms = new KMSClient({
      region: probe.region ?? this.options.region,
      credentials,
      maxAttempts: 2,
      ...(this.options.kmsEndpoint === undefined ? {} : { endpoint: this.options.kmsEndpoint }),
    });
    try {
      if (probe.keyArn !== undefined) {
        const out = await kms.send(new DescribeKeyCommand({ KeyId: probe.keyArn }));
        return {
          assumeRole: { ok: true },
          kms: { ok: true, detail: `DescribeKey: ${out.KeyMetadata?.KeyState}` },
        };
      }
      const out = await kms.send(new ListKeysCommand({ Limit: 1 }));
      return {
        assumeRole: { ok: true },
        kms: { ok: true, detail: `ListKeys: ${out.Keys?.length ?? 0} key(s) on the first page` },
      };
    } catch (error) {
      return { assumeRole: { ok: true }, kms: refused(error) };
    } finally {
      kms.destroy();
    }
  }
}
