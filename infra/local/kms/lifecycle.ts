/**
 * Time-driven changes KMS makes on its own: imported material past its ValidTo is deleted (the key
 * goes to PendingImport and KMS sends "KMS Imported Key Material Expiration"), keys past their
 * DeletionDate are deleted. Also the admin fault that loses a Region's imported material.
 */

import type { EmulatorClock } from "./clock.js";
import { serviceEventRecord } from "./cloudtrail/records.js";
import type { CloudTrail } from "./cloudtrail/trail.js";
import { type KeyRecord, permanentMaterials } from "./domain/model.js";
import { type EventPublisher, materialExpirationEvent } from "./events.js";
import type { KmsStore } from "./store.js";

function dropPendingMaterials(key: KeyRecord, predicate: (id: string) => boolean): void {
  key.materials = key.materials.filter(
    (m) => m.state === "CURRENT" || m.state === "NON_CURRENT" || !predicate(m.id),
  );
}

/**
 * Applies everything due at the clock's now, recording KMS's own deeds in the trail when given.
 * Returns whether anything changed.
 */
export function processDue(
  store: KmsStore,
  clock: EmulatorClock,
  events: EventPublisher,
  trail?: CloudTrail,
): boolean {
  const now = clock.now();
  let changed = false;
  for (const key of store.allKeys()) {
    if (key.deletionDate !== undefined && key.deletionDate <= now) {
      store.deleteKey(key);
      trail?.add(
        serviceEventRecord({
          eventName: "DeleteKey",
          region: key.region,
          account: key.accountId,
          at: now,
          keyArn: key.arn,
          keyId: key.keyId,
        }),
      );
      changed = true;
      continue;
    }
    let expiredPermanent: string | undefined;
    const expiredPending = new Set<string>();
    for (const material of key.materials) {
      if (material.bytes === undefined || material.expirationModel !== "KEY_MATERIAL_EXPIRES") continue;
      if (material.validTo === undefined || material.validTo > now) continue;
      changed = true;
      if (permanentMaterials(key).includes(material)) {
        material.bytes = undefined;
        material.expirationModel = undefined;
        material.validTo = undefined;
        expiredPermanent = material.id;
      } else {
        // Material pending rotation is not permanently associated with the key: it simply goes.
        expiredPending.add(material.id);
      }
    }
    if (expiredPending.size > 0) dropPendingMaterials(key, (id) => expiredPending.has(id));
    if (expiredPermanent !== undefined) {
      trail?.add(
        serviceEventRecord({
          eventName: "DeleteExpiredKeyMaterial",
          region: key.region,
          account: key.accountId,
          at: now,
          keyArn: key.arn,
          keyId: key.keyId,
          ...(key.keySpec === "SYMMETRIC_DEFAULT" ? { keyMaterialId: expiredPermanent } : {}),
        }),
      );
      events.publish(
        materialExpirationEvent({
          account: key.accountId,
          region: key.region,
          keyArn: key.arn,
          keyId: key.keyId,
          at: now,
        }),
      );
    }
  }
  return changed;
}

/**
 * A Region-wide failure after which KMS cannot restore imported material: keys and metadata stay,
 * the material is gone, keys are PendingImport, and no expiration event is sent.
 * Returns the ids of the keys that lost material.
 */
export function loseRegionMaterial(store: KmsStore, region: string): string[] {
  const affected: string[] = [];
  for (const key of store.keysIn(region)) {
    if (key.origin !== "EXTERNAL") continue;
    const had = key.materials.some((m) => m.bytes !== undefined);
    for (const material of key.materials) {
      material.bytes = undefined;
      material.expirationModel = undefined;
      material.validTo = undefined;
    }
    dropPendingMaterials(key, () => true);
    if (had) affected.push(key.keyId);
  }
  return affected;
}
