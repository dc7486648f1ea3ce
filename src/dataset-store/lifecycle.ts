import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueue } from "../storage/queues";
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
