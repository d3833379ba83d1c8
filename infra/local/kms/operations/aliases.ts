/**
 * CreateAlias, UpdateAlias, DeleteAlias, ListAliases:
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
 */
import type { KmsContext, KmsOperation } from "../context.js";
import { aliasArn } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";
import { epochSeconds, KEY_ID_CONSTRAINT, paginate, requireNotPendingDeletion } from "./shared.js";

const ALIAS_PATTERN = /^[a-zA-Z0-9:/_-]+$/;

function readAliasName(input: RequestReader): string {
  return input.string("AliasName", { required: true, min: 1, max: 256, pattern: ALIAS_PATTERN }) ?? "";
}

function checkAliasName(name: string): void {
  if (!name.startsWith("alias/")) {
    throw kmsError(
      KmsErrorType.Validation,
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
  }
  if (name.startsWith("alias/aws/")) {
    throw kmsError(KmsErrorType.NotAuthorized, `${name} is reserved for AWS managed keys.`);
  }
}

function requireAlias(ctx: KmsContext, name: string) {
  const alias = ctx.store.findAlias(ctx.region, name);
  if (!alias) {
    throw kmsError(KmsErrorType.NotFound, `Alias ${aliasArn(ctx.region, ctx.accountId, name)} is not found.`);
  }
  return alias;
}

export const createAlias: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const name = readAliasName(input);
    const target = input.string("TargetKeyId", KEY_ID_CONSTRAINT);
    input.done();
    checkAliasName(name);
    const key = ctx.store.resolveKey(ctx.region, target ?? "", { allowAlias: false });
    requireNotPendingDeletion(key);
    if (ctx.store.findAlias(ctx.region, name)) {
      throw kmsError(
        KmsErrorType.AlreadyExists,
        `An alias with the name ${aliasArn(ctx.region, ctx.accountId, name)} already exists`,
      );
    }
    const now = ctx.clock.now();
    ctx.store.putAlias({
      aliasName: name,
      region: ctx.region,
      accountId: ctx.accountId,
      targetKeyId: key.keyId,
      creationDate: now,
      lastUpdatedDate: now,
    });
    return {};
  },
};

export const updateAlias: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const name = readAliasName(input);
    const target = input.string("TargetKeyId", KEY_ID_CONSTRAINT);
    input.done();
    checkAliasName(name);
    const alias = requireAlias(ctx, name);
    const key = ctx.store.resolveKey(ctx.region, target ?? "", { allowAlias: false });
    requireNotPendingDeletion(key);
    alias.targetKeyId = key.keyId;
    alias.lastUpdatedDate = ctx.clock.now();
    return {};
  },
};

export const deleteAlias: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const name = readAliasName(input);
    input.done();
    checkAliasName(name);
    ctx.store.deleteAlias(requireAlias(ctx, name));
    return {};
  },
};

export const listAliases: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const keyId = input.string("KeyId", { min: 1, max: 2048 });
    const limit = input.int("Limit", { min: 1, max: 100 });
    const marker = input.string("Marker", { min: 1, max: 1024 });
    input.done();
    let aliases = ctx.store.aliasesIn(ctx.region);
    if (keyId !== undefined) {
      const key = ctx.store.resolveKey(ctx.region, keyId, { allowAlias: false });
      aliases = aliases.filter((a) => a.targetKeyId === key.keyId);
    }
    const { page, truncated, nextMarker } = paginate(aliases, limit ?? 50, marker);
    return {
      Aliases: page.map((a) => ({
        AliasName: a.aliasName,
        AliasArn: aliasArn(a.region, a.accountId, a.aliasName),
        TargetKeyId: a.targetKeyId,
        CreationDate: epochSeconds(a.creationDate),
        LastUpdatedDate: epochSeconds(a.lastUpdatedDate),
      })),
      Truncated: truncated,
      ...(nextMarker ? { NextMarker: nextMarker } : {}),
    };
  },
};
