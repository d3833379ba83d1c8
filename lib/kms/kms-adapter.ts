import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type KeyMetadata,
  type KMSClient,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-kms";
import {
  CheckValueMismatchError,
  KmsError,
  KmsImportTokenError,
  KmsNotFoundError,
} from "../domain/errors.js";
import type { AwsRegion } from "../domain/ids.js";
import { accountOfKeyId } from "../domain/key-arn.js";
import type { KeyMaterialInfo } from "../domain/key-material.js";
import { ExpirationModel, IncludeKeyMaterial, KeyMaterialState } from "../domain/kms-constants.js";
import type { ObservedKeyState } from "../domain/observed.js";
import { PARAMETERS_USE_MARGIN_MS, parametersUsable } from "../domain/warm-parameters.js";
import type { WrappingChoice } from "../domain/wrapping.js";
import type {
  ImportParametersStore,
  ImportRequest,
  ImportResult,
  KmsPort,
  NewKmsKey,
  Vault,
  WarmParametersRequest,
} from "../lifecycle/ports.js";
import { type KmsClients, paceAttempts } from "./clients.js";
import { callKms } from "./errors.js";
import { type ImportParameters, ImportParametersCache } from "./import-parameters.js";
import type { RateLimiter } from "./rate-limiter.js";

export interface KmsAdapterOptions {
  readonly clients: KmsClients;
  readonly vault: Vault;
  /**
   * Keeps calls inside KMS's request quotas, every SDK attempt paced (installed on each Region's client the
   * adapter uses; the same limiter may also be given to kmsClients); absent = no client-side limit.
   */
  readonly rateLimiter?: RateLimiter | undefined;
  /**
   * The first tier: sets this process fetched or read, in memory (no table read for the next import of the
   * same key-Region). Default: a cache that drops a set PARAMETERS_USE_MARGIN_MS before it runs out.
   */
  readonly parametersCache?: ImportParametersCache | undefined;
  /**
   * The second tier: each managed key-Region's warm set, stored with its Region record, shared by every
   * function and kept across cold starts. Absent (TETHER_WARM_IMPORT_PARAMETERS=off): memory only.
   */
  readonly parametersStore?: ImportParametersStore | undefined;
  readonly now?: () => Date;
}

/** Where the import parameters an import used came from. */
type ParametersSource = "memory" | "stored" | "fetched";

/**
 * KMS for the lifecycle: maps the port onto SDK commands, translates SDK errors into domain errors, and
 * runs the import protocol. Import tokens, public keys and wrapped material stay inside this class.
 */
export class KmsAdapter implements KmsPort {
  readonly #clients: KmsClients;
  readonly #vault: Vault;
  readonly #limiter: RateLimiter | undefined;
  readonly #parameters: ImportParametersCache;
  readonly #store: ImportParametersStore | undefined;
  readonly #now: () => Date;

  constructor(options: KmsAdapterOptions) {
    this.#clients = options.clients;
    this.#vault = options.vault;
    this.#limiter = options.rateLimiter;
    this.#parameters =
      options.parametersCache ?? new ImportParametersCache({ safetyMarginMs: PARAMETERS_USE_MARGIN_MS });
    this.#store = options.parametersStore;
    this.#now = options.now ?? (() => new Date());
  }

  async describeKey(region: AwsRegion, keyId: string): Promise<ObservedKeyState> {
    try {
      const output = await this.#send(region, keyId, "DescribeKey", (c) =>
        c.send(new DescribeKeyCommand({ KeyId: keyId })),
      );
      if (output.KeyMetadata === undefined) {
        throw new KmsError("DescribeKey answered without KeyMetadata.", { keyId, region });
      }
      return observedFrom(output.KeyMetadata);
    } catch (error) {
      if (error instanceof KmsNotFoundError) return { found: false };
      throw error;
    }
  }

  async importMaterial(request: ImportRequest): Promise<ImportResult> {
    const { region, keyId, wrapping } = request;
    if (
      (request.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES) !==
      (request.validTo !== undefined)
    ) {
      throw new RangeError("validTo is required with KEY_MATERIAL_EXPIRES and forbidden otherwise");
    }
    let importedKeyMaterialId: string | undefined;
    // One retry with fresh parameters: the memory or stored set may have been refused (expired, or KMS no
    // longer honours it: a region-wide loss may take outstanding tokens with it). A second refusal is real
    // and goes to the caller.
    for (let attempt = 1; ; attempt++) {
      const { parameters, source } = await this.#importParameters(request, attempt > 1);
      const wrapped = await this.#wrap(request, parameters.publicKey);
      try {
        const output = await this.#send(region, keyId, "ImportKeyMaterial", (c) =>
          c.send(
            new ImportKeyMaterialCommand({
              KeyId: keyId,
              ImportToken: parameters.importToken,
              EncryptedKeyMaterial: wrapped,
              ExpirationModel: request.expirationModel,
              ...(request.validTo === undefined ? {} : { ValidTo: request.validTo }),
              ...(request.importType === undefined ? {} : { ImportType: request.importType }),
              ...(request.keyMaterialId === undefined ? {} : { KeyMaterialId: request.keyMaterialId }),
              ...(request.keyMaterialDescription === undefined
                ? {}
                : { KeyMaterialDescription: request.keyMaterialDescription }),
            }),
          ),
        );
        importedKeyMaterialId = output.KeyMaterialId;
        break;
      } catch (error) {
        if (error instanceof KmsImportTokenError) {
          this.#parameters.drop(region, keyId, wrapping);
          // The stored set goes too when it is the one refused (a fresh one replaces it on the retry
          // anyway; dropping it first keeps a refused set from being read by another function meanwhile).
          if (source !== "fetched" && request.managedKeyId !== undefined && this.#store !== undefined) {
            await this.#store.drop(request.managedKeyId, region, parameters.validTo);
          }
          if (attempt < 2) continue;
        }
        throw error;
      } finally {
        wrapped.fill(0);
      }
    }
    return { ...(await this.describeKey(region, keyId)), importedKeyMaterialId };
  }

  /**
   * The vault wraps the material under the import's public key: through `wrapFor` when the vault has it (the
   * vault agent wraps in the customer's network and answers the check value of what it wrapped, which must
   * be the one the key recorded), else `wrap`.
   */
  async #wrap(request: ImportRequest, publicKey: Uint8Array): Promise<Uint8Array> {
    const algorithm = request.wrapping.wrappingAlgorithm;
    if (this.#vault.wrapFor === undefined) {
      return this.#vault.wrap(request.materialRef, publicKey, algorithm);
    }
    const answer = await this.#vault.wrapFor({
      materialRef: request.materialRef,
      publicKeyDer: publicKey,
      algorithm,
      keyArn: request.keyId,
      region: request.region,
      keySpec: request.keySpec,
    });
    if (request.checkValue !== undefined && answer.checkValue !== request.checkValue) {
      answer.wrapped.fill(0);
      throw new CheckValueMismatchError({
        keyId: request.managedKeyId ?? request.keyId,
        materialRef: request.materialRef,
      });
    }
    return answer.wrapped;
  }

  async rotateKeyOnDemand(region: AwsRegion, keyId: string): Promise<void> {
    await this.#send(region, keyId, "RotateKeyOnDemand", (c) =>
      c.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
    );
  }

  async listKeyMaterials(region: AwsRegion, keyId: string): Promise<KeyMaterialInfo[]> {
    const materials: KeyMaterialInfo[] = [];
    let marker: string | undefined;
    do {
      const output = await this.#send(region, keyId, "ListKeyRotations", (c) =>
        c.send(
          new ListKeyRotationsCommand({
            KeyId: keyId,
            IncludeKeyMaterial: IncludeKeyMaterial.ALL_KEY_MATERIAL,
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        ),
      );
      for (const rotation of output.Rotations ?? []) {
        const state = rotation.KeyMaterialState;
        if (rotation.KeyMaterialId === undefined || state === undefined || !isKeyMaterialState(state)) {
          throw new KmsError("ListKeyRotations answered a material without an id or a known state.", {
            keyId,
            region,
          });
        }
        materials.push({
          keyMaterialId: rotation.KeyMaterialId,
          description: rotation.KeyMaterialDescription,
          state,
          validTo: rotation.ValidTo,
          importState: rotation.ImportState,
          rotationDate: rotation.RotationDate,
        });
      }
      marker = output.Truncated ? output.NextMarker : undefined;
    } while (marker !== undefined);
    return materials;
  }

  async deleteImportedKeyMaterial(region: AwsRegion, keyId: string): Promise<void> {
    await this.#send(region, keyId, "DeleteImportedKeyMaterial", (c) =>
      c.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId })),
    );
  }

  async createKey(request: NewKmsKey): Promise<{ keyId: string; keyArn: string }> {
    const output = await this.#send(
      request.region,
      "(new key)",
      "CreateKey",
      (c) =>
        c.send(
          new CreateKeyCommand({
            Origin: "EXTERNAL",
            KeySpec: request.keySpec,
            KeyUsage: request.keyUsage,
            MultiRegion: request.multiRegion,
            ...(request.description === undefined ? {} : { Description: request.description }),
            ...(request.policy === undefined ? {} : { Policy: request.policy }),
            Tags: Object.entries(request.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
          }),
        ),
      request.account,
    );
    const { KeyId, Arn } = output.KeyMetadata ?? {};
    if (KeyId === undefined || Arn === undefined) {
      throw new KmsError("CreateKey answered without KeyId and Arn.", {
        keyId: "(new key)",
        region: request.region,
      });
    }
    return { keyId: KeyId, keyArn: Arn };
  }

  async replicateKey(request: {
    primaryRegion: AwsRegion;
    keyId: string;
    replicaRegion: AwsRegion;
    description?: string | undefined;
    tags: Readonly<Record<string, string>>;
    policy?: string | undefined;
  }): Promise<{ keyArn: string }> {
    const output = await this.#send(request.primaryRegion, request.keyId, "ReplicateKey", (c) =>
      c.send(
        new ReplicateKeyCommand({
          KeyId: request.keyId,
          ReplicaRegion: request.replicaRegion,
          ...(request.description === undefined ? {} : { Description: request.description }),
          ...(request.policy === undefined ? {} : { Policy: request.policy }),
          Tags: Object.entries(request.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
        }),
      ),
    );
    const arn = output.ReplicaKeyMetadata?.Arn;
    if (arn === undefined) {
      throw new KmsError("ReplicateKey answered without the replica's ARN.", {
        keyId: request.keyId,
        region: request.replicaRegion,
      });
    }
    return { keyArn: arn };
  }

  async createAlias(region: AwsRegion, aliasName: string, keyId: string): Promise<void> {
    const name = aliasName.startsWith("alias/") ? aliasName : `alias/${aliasName}`;
    await this.#send(region, keyId, "CreateAlias", (c) =>
      c.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keyId })),
    );
  }

  async updateAlias(region: AwsRegion, aliasName: string, keyId: string): Promise<void> {
    const name = aliasName.startsWith("alias/") ? aliasName : `alias/${aliasName}`;
    await this.#send(region, keyId, "UpdateAlias", (c) =>
      c.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: keyId })),
    );
  }

  async aliasTarget(region: AwsRegion, aliasName: string, account?: string): Promise<string | undefined> {
    const name = aliasName.startsWith("alias/") ? aliasName : `alias/${aliasName}`;
    // DescribeKey takes an alias name and answers for its target; NotFound means no such alias.
    try {
      const output = await this.#send(
        region,
        name,
        "DescribeKey",
        (c) => c.send(new DescribeKeyCommand({ KeyId: name })),
        account,
      );
      return output.KeyMetadata?.Arn;
    } catch (error) {
      if (error instanceof KmsNotFoundError) return undefined;
      throw error;
    }
  }

  async getKeyPolicy(region: AwsRegion, keyId: string): Promise<string> {
    const output = await this.#send(region, keyId, "GetKeyPolicy", (c) =>
      c.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: "default" })),
    );
    if (output.Policy === undefined) {
      throw new KmsError("GetKeyPolicy answered without a policy.", { keyId, region });
    }
    return output.Policy;
  }

  async listTags(region: AwsRegion, keyId: string): Promise<Record<string, string>> {
    const tags: Record<string, string> = {};
    let marker: string | undefined;
    do {
      const output = await this.#send(region, keyId, "ListResourceTags", (c) =>
        c.send(
          new ListResourceTagsCommand({ KeyId: keyId, ...(marker === undefined ? {} : { Marker: marker }) }),
        ),
      );
      for (const tag of output.Tags ?? []) {
        if (tag.TagKey !== undefined) tags[tag.TagKey] = tag.TagValue ?? "";
      }
      marker = output.Truncated ? output.NextMarker : undefined;
    } while (marker !== undefined);
    return tags;
  }

  async untagKey(region: AwsRegion, keyId: string, tagKeys: readonly string[]): Promise<void> {
    await this.#send(region, keyId, "UntagResource", (c) =>
      c.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: [...tagKeys] })),
    );
  }

  async warmImportParameters(request: WarmParametersRequest): Promise<{ validTo: Date; fetched: boolean }> {
    const store = this.#store;
    if (store === undefined) {
      throw new RangeError("warmImportParameters needs a parametersStore (warming is off)");
    }
    const { managedKeyId, region, keyId, wrapping } = request;
    const stored = await store.get(managedKeyId, region);
    if (parametersUsable(stored, wrapping, request.warmUntil)) {
      return { validTo: stored.validTo, fetched: false };
    }
    const fresh = await this.#fetchParameters(region, keyId, wrapping);
    this.#parameters.set(region, keyId, wrapping, fresh);
    await store.put(managedKeyId, region, { ...fresh, wrapping });
    return { validTo: fresh.validTo, fetched: true };
  }

  /**
   * The import parameters for one import, from the first tier that has a usable set: this process's memory,
   * then the set stored with the Region record, else a fresh GetParametersForImport (stored for the next
   * import and for every other function). `fresh`: skip both tiers (a set was just refused).
   */
  async #importParameters(
    request: ImportRequest,
    fresh: boolean,
  ): Promise<{ parameters: ImportParameters; source: ParametersSource }> {
    const { region, keyId, wrapping, managedKeyId } = request;
    const store = managedKeyId === undefined ? undefined : this.#store;
    if (!fresh) {
      const cached = this.#parameters.get(region, keyId, wrapping, this.#now());
      if (cached !== undefined) return { parameters: cached, source: "memory" };
      if (store !== undefined && managedKeyId !== undefined) {
        const stored = await store.get(managedKeyId, region);
        if (parametersUsable(stored, wrapping, this.#now())) {
          const parameters = {
            publicKey: stored.publicKey,
            importToken: stored.importToken,
            validTo: stored.validTo,
          };
          this.#parameters.set(region, keyId, wrapping, parameters);
          return { parameters, source: "stored" };
        }
      }
    }
    const parameters = await this.#fetchParameters(region, keyId, wrapping);
    this.#parameters.set(region, keyId, wrapping, parameters);
    if (store !== undefined && managedKeyId !== undefined) {
      await store.put(managedKeyId, region, { ...parameters, wrapping });
    }
    return { parameters, source: "fetched" };
  }

  /** GetParametersForImport, paced by the rate limiter like every KMS call of this adapter. */
  async #fetchParameters(
    region: AwsRegion,
    keyId: string,
    wrapping: WrappingChoice,
  ): Promise<ImportParameters> {
    const output = await this.#send(region, keyId, "GetParametersForImport", (c) =>
      c.send(
        new GetParametersForImportCommand({
          KeyId: keyId,
          WrappingAlgorithm: wrapping.wrappingAlgorithm,
          WrappingKeySpec: wrapping.wrappingKeySpec,
        }),
      ),
    );
    if (
      output.PublicKey === undefined ||
      output.ImportToken === undefined ||
      output.ParametersValidTo === undefined
    ) {
      throw new KmsError("GetParametersForImport answered without a public key, token and validity.", {
        keyId,
        region,
      });
    }
    return {
      publicKey: output.PublicKey,
      importToken: output.ImportToken,
      validTo: output.ParametersValidTo,
    };
  }

  /**
   * Sends and translates the SDK's error. The Region's quota is waited for by the client, once per HTTP
   * attempt (paceAttempts), not here once per call: the SDK's retries must wait their turn too.
   */
  async #send<T>(
    region: AwsRegion,
    keyId: string,
    operation: string,
    call: (client: KMSClient) => Promise<T>,
    account: string | undefined = accountOfKeyId(keyId),
  ): Promise<T> {
    const client = await this.#clientFor(region, account);
    if (this.#limiter !== undefined) paceAttempts(client, region, this.#limiter);
    return callKms({ keyId, region, operation }, () => call(client));
  }

  /**
   * The client of the account that owns the key: named by its ARN (every managed key's Regions are called by
   * ARN), else the deployment's own. A member's client signs with the member role's session; an account that
   * is neither is refused before anything is sent (AccountNotRegisteredError).
   */
  #clientFor(region: AwsRegion, account: string | undefined): Promise<KMSClient> {
    if (account === undefined || this.#clients.forAccount === undefined) {
      return Promise.resolve(this.#clients.forRegion(region));
    }
    return this.#clients.forAccount(region, account);
  }
}

/** DescribeKey's KeyMetadata in the domain's words. */
export function observedFrom(metadata: KeyMetadata): ObservedKeyState {
  return {
    found: true,
    keyState: metadata.KeyState ?? "Unknown",
    origin: metadata.Origin ?? "Unknown",
    enabled: metadata.Enabled ?? false,
    expirationModel: metadata.ExpirationModel,
    validTo: metadata.ValidTo,
    keySpec: metadata.KeySpec,
    keyUsage: metadata.KeyUsage,
    currentKeyMaterialId: metadata.CurrentKeyMaterialId,
    deletionDate: metadata.DeletionDate,
  };
}

function isKeyMaterialState(value: string): value is KeyMaterialState {
  return (Object.values(KeyMaterialState) as string[]).includes(value);
}
