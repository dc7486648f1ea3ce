import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueue } from "../storage/queues";
import { copyDatasetToStore } from "./copy-from-d1";
import { datasetStore } from "./store";

/**
 * Empties a deleted dataset's `DatasetStore` (`storage.deleteAll()`). Called after the dataset's D1 rows are gone;
 * if the object cannot be reached now, a queued `destroy-dataset-store` job retries it (with the queue's backoff and
 * dead-letter queue), so the object's data is never orphaned by a transient failure.
 */
export async function destroyDatasetStore(env: Env, datasetId: number): Promise<void> {
  // Inside the object itself (a moved dataset deleting itself), its rows are already gone with the registry row
  // (ON DELETE CASCADE there too); the storage is emptied by the queue, not by a call into the object from itself.
  if (env.DATASET_STORE_ID === String(datasetId)) {
    await enqueue(env.INGEST, { type: "destroy-dataset-store", datasetId });
    return;
  }
  try {
    await datasetStore(env, datasetId).destroy();
  } catch (e) {
    log("warn", "-", "dataset store destroy deferred to the queue", { datasetId, error: String(e) });
    await enqueue(env.INGEST, { type: "destroy-dataset-store", datasetId });
  }
}

/**
 * True when a dataset created now starts in its own DatasetStore: `DATASET_STORE_NEW` is "object" and routing is on
 * (without routing, nothing would reach the object). Never inside an object (no route creates a dataset there).
 */
export function createsInStore(env: Env): boolean {
  return env.DATASET_STORE_NEW === "object" && env.DATASET_STORE_ROUTING === "on" && !env.DATASET_STORE_ID;
}

/**
 * Provisions the DatasetStore of dataset `datasetId`, just inserted in the registry with `store = 'frozen'`: the
 * object gets its schema, its registry row and its owner's mirror row (copyDatasetToStore over an empty dataset: two
 * rows), then the registry says 'object'. Its image ids come from blocks allocated on first insert (locate.ts).
 * On any failure the registry row is removed and the object emptied before the error is rethrown, so a failed
 * create leaves neither a dataset that no store holds nor an object that no dataset names.
 */
export async function provisionNewStore(env: Env, datasetId: number): Promise<void> {
  try {
    const progress = await copyDatasetToStore(env, datasetId);
    if (!progress.done) throw new Error(`dataset ${datasetId}: the new store was not provisioned in one pass`);
    await env.DB.prepare("UPDATE datasets SET store = 'object' WHERE id = ?1 AND store = 'frozen'").bind(datasetId).run();
  } catch (e) {
    await env.DB.prepare("DELETE FROM datasets WHERE id = ?1").bind(datasetId).run();
    await destroyDatasetStore(env, datasetId);
    throw e;
  }
}
