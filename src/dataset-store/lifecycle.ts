import type { Env } from "../env";
import { ApiError } from "../lib/errors";
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

const oneOf = (name: string, v: string | undefined, allowed: string[]) =>
  v === undefined || v === "" || allowed.includes(v) ? [] : [`${name} must be ${allowed.map((a) => `"${a}"`).join(" or ")}, not "${v}".`];

/** What is wrong with where new datasets go (DATASET_STORE_NEW, DATASET_STORE_ROUTING): one sentence each. */
function creationProblems(env: Env): string[] {
  const out = [...oneOf("DATASET_STORE_ROUTING", env.DATASET_STORE_ROUTING, ["on", "off"]), ...oneOf("DATASET_STORE_NEW", env.DATASET_STORE_NEW, ["d1", "object"])];
  if (env.DATASET_STORE_NEW === "object" && env.DATASET_STORE_ROUTING !== "on")
    out.push('DATASET_STORE_NEW = "object" needs DATASET_STORE_ROUTING = "on": without routing no request would reach a new dataset\'s object.');
  return out;
}

/**
 * Everything wrong with the DatasetStore vars (wrangler.toml; README, "Configuration"), one sentence each; empty when
 * nothing is. /healthz answers 503 with them, so a deploy check sees a bad configuration before users do.
 */
export function storeConfigProblems(env: Env): string[] {
  const out = creationProblems(env);
  const prune = env.DATASET_STORE_PRUNE_AFTER_S;
  if (prune !== undefined && prune !== "" && !Number.isFinite(Number(prune)))
    out.push(`DATASET_STORE_PRUNE_AFTER_S must be a number of seconds, not "${prune}".`);
  return out;
}

/**
 * True when a dataset created now starts in its own DatasetStore: `DATASET_STORE_NEW` is "object" (and routing is
 * on). Never inside an object (no route creates a dataset there).
 * @throws ApiError UNAVAILABLE (503) when the vars contradict each other or name no known value: a dataset is not
 * created somewhere the operator did not ask for (e.g. in D1 with DATASET_STORE_NEW = "object" and routing off).
 */
export function createsInStore(env: Env): boolean {
  if (env.DATASET_STORE_ID) return false;
  const problems = creationProblems(env);
  if (problems.length) throw new ApiError("UNAVAILABLE", `The service is misconfigured: ${problems.join(" ")}`);
  return env.DATASET_STORE_NEW === "object";
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
