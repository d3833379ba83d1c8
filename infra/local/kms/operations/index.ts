/** The operation handlers, by the name after "TrentService." in X-Amz-Target. */
import type { KmsOperation } from "../context.js";
import { createAlias, deleteAlias, listAliases, updateAlias } from "./aliases.js";
import { createKey } from "./create-key.js";
import { deleteImportedKeyMaterial } from "./delete-imported-key-material.js";
import { describeKey } from "./describe-key.js";
import { disableKey, enableKey } from "./enable-disable-key.js";
import { decrypt, encrypt, generateDataKeyOp, generateDataKeyWithoutPlaintext } from "./encrypt-decrypt.js";
import { getParametersForImport } from "./get-parameters-for-import.js";
import { importKeyMaterial } from "./import-key-material.js";
import { cancelKeyDeletion, scheduleKeyDeletion } from "./key-deletion.js";
import { getKeyPolicy, putKeyPolicy } from "./key-policy.js";
import { listKeyRotations, rotateKeyOnDemand } from "./key-rotations.js";
import { listKeys } from "./list-keys.js";
import { generateMac, verifyMac } from "./mac.js";
import { replicateKey } from "./replicate-key.js";
import { getPublicKey, signOp, verifyOp } from "./sign-verify.js";
import { listResourceTags, tagResource, untagResource } from "./tags.js";
import { updateKeyDescription } from "./update-key-description.js";

export const OPERATIONS: Readonly<Record<string, KmsOperation>> = {
  CancelKeyDeletion: cancelKeyDeletion,
  CreateAlias: createAlias,
  CreateKey: createKey,
  Decrypt: decrypt,
  DeleteAlias: deleteAlias,
  DeleteImportedKeyMaterial: deleteImportedKeyMaterial,
  DescribeKey: describeKey,
  DisableKey: disableKey,
  EnableKey: enableKey,
  Encrypt: encrypt,
  GenerateDataKey: generateDataKeyOp,
  GenerateDataKeyWithoutPlaintext: generateDataKeyWithoutPlaintext,
  GenerateMac: generateMac,
  GetKeyPolicy: getKeyPolicy,
  GetParametersForImport: getParametersForImport,
  GetPublicKey: getPublicKey,
  ImportKeyMaterial: importKeyMaterial,
  ListAliases: listAliases,
  ListKeyRotations: listKeyRotations,
  ListKeys: listKeys,
  ListResourceTags: listResourceTags,
  PutKeyPolicy: putKeyPolicy,
  ReplicateKey: replicateKey,
  RotateKeyOnDemand: rotateKeyOnDemand,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  Sign: signOp,
  TagResource: tagResource,
  UntagResource: untagResource,
  UpdateAlias: updateAlias,
  UpdateKeyDescription: updateKeyDescription,
  Verify: verifyOp,
  VerifyMac: verifyMac,
};
