import type { Env } from "../env";
import { enqueue } from "../storage/queues";
import { registryStore } from "./locate";

/** Images whose D1 rows one batch deletes (with their annotation rows, by ON DELETE CASCADE: ~10 per image). */
export const PRUNE_CHUNK_IMAGES = 500;
/** Wall-clock budget of one prune pass (one queue message); a larger dataset re-enqueues itself. */
export const PRUNE_PASS_MS = 10_000;
/** Queues delay a message by at most 12 hours. */
const MAX_DELAY_S = 43_200;
/** The shortest wait: requests that read D1 before the switch finish first (migration.ts, SWITCH_GRACE_S). */
const MIN_DELAY_S = 30;

const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/**
 * Seconds between a switch-over and dropping D1's copy of the dataset's rows: `DATASET_STORE_PRUNE_AFTER_S`
 * (wrangler.toml), clamped to [30, 43200] (the queue's longest delay); 300 when unset or not a number. The wait lets
 * requests that passed the routing check before the switch finish reading D1, and gives an operator time to compare.
 */
export function pruneDelaySeconds(env: Env): number {
  const n = Number(env.DATASET_STORE_PRUNE_AFTER_S);
  if (!env.DATASET_STORE_PRUNE_AFTER_S || !Number.isFinite(n)) return 300;
  return Math.min(MAX_DELAY_S, Math.max(MIN_DELAY_S, Math.round(n)));
}

/** Queues the drop of D1's copy of dataset `datasetId`, just switched to its object, after pruneDelaySeconds. */
export async function schedulePrune(env: Env, datasetId: number): Promise<void> {
  await enqueue(env.INGEST, { type: "prune-dataset-d1", datasetId }, pruneDelaySeconds(env));
}

export interface PruneProgress {
  /** True when D1 holds none of the dataset's rows but its registry row and its sets' registry rows. */
  done: boolean;
  /** Image rows deleted by this call. */
  images: number;
}

/**
 * One pass of dropping D1's stale copy of dataset `datasetId` after its switch-over (queue message
 * `prune-dataset-d1`; issue 13: "nothing per-image stays in D1"). Runs only while the registry says the dataset is
 * served by its object (`store = 'object'`); any other dataset is left alone.
 *
 * Each batch of PRUNE_CHUNK_IMAGES images is one D1 transaction: first their R2 keys go into `blob_refs` (from then
 * on the blob sweep asks the object whether a key is used, as for a dataset created in its object), then the image
 * rows are deleted, which deletes their annotations, objects, annotation classes and image tags by ON DELETE CASCADE.
 * When no image is left, the folders and the sets' class lists (`annotation_set_classes`) go. What stays in D1 is
 * what a dataset created in its object has there: the registry row (with its counters) and `annotation_sets`, the
 * set registry that id-only routes locate sets by (split-d1.ts), and the image id ranges (locate.ts).
 *
 * Idempotent and resumable: a pass cut short is simply run again. Not done within PRUNE_PASS_MS (`budgetMs`) → the
 * message is enqueued again. The dataset's state (`dataset_store_copies`) becomes `pruned` when done.
 */
export async function runD1Prune(
  env: Env,
  datasetId: number,
  opts: { budgetMs?: number; chunk?: number } = {},
): Promise<PruneProgress> {
  const store = await registryStore(env, datasetId);
  if (store !== "object") return { done: false, images: 0 };
  const deadline = Date.now() + (opts.budgetMs ?? PRUNE_PASS_MS);
  const chunk = opts.chunk ?? PRUNE_CHUNK_IMAGES;
  let images = 0;
  for (;;) {
    const ids = await env.DB.prepare("SELECT id FROM images WHERE dataset_id = ?1 ORDER BY id LIMIT ?2").bind(datasetId, chunk).raw<[number]>();
    if (!ids.length) break;
    const list = JSON.stringify(ids.map(([id]) => id));
    const inChunk = "id IN (SELECT value FROM json_each(?2)) AND dataset_id = ?1";
    await env.DB.batch([
      env.DB.prepare(`INSERT OR IGNORE INTO blob_refs (r2_key, dataset_id) SELECT DISTINCT r2_key, ?1 FROM images WHERE ${inChunk}`).bind(datasetId, list),
      env.DB.prepare(`DELETE FROM images WHERE ${inChunk}`).bind(datasetId, list),
    ]);
    images += ids.length;
    if (Date.now() > deadline) {
      await enqueue(env.INGEST, { type: "prune-dataset-d1", datasetId });
      return { done: false, images };
    }
  }
  await env.DB.batch([
    env.DB.prepare("DELETE FROM annotation_set_classes WHERE set_id IN (SELECT id FROM annotation_sets WHERE dataset_id = ?1)").bind(datasetId),
    env.DB.prepare("DELETE FROM folders WHERE dataset_id = ?1").bind(datasetId),
    env.DB.prepare(`UPDATE dataset_store_copies SET state = 'pruned', updated_at = ${now} WHERE dataset_id = ?1`).bind(datasetId),
  ]);
  return { done: true, images };
}
