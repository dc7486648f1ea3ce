import type { Env } from "../env";

/**
 * Finding the dataset a request is about (issue 13). A DatasetStore is addressed by its dataset's id, but Remo's API
 * often gives only a child's id: 23 routes name an annotation set alone (`/api/v1/ui/annotation-sets/{id}/…`), and
 * the byte, DZI and IIIF paths name an image alone (docs/dataset-store-audit.md, class F). D1 answers both without a
 * row per image:
 * - a set is found by D1's `annotation_sets` row, which stays in D1 as the set registry (sets are few per dataset;
 *   a set's id is allocated there, then the set is written into the object);
 * - an image is found by `image_id_ranges`: closed ranges of ids, each owned by one dataset, looked up by the range
 *   that starts at or below the id (one primary-key seek). A dataset still served from D1 has no ranges yet and
 *   its `images` row answers instead, in the same statement.
 */

/** Image ids allocated for DatasetStores start at 2^32: D1's AUTOINCREMENT never gets there (10 GB holds ~40 M). */
export const IMAGE_BLOCK_BASE = 2 ** 32;
/** Ids per block. A dataset takes a new block when its last one is used up (one D1 write per 65,536 images). */
export const IMAGE_BLOCK_SIZE = 65_536;
/** Ranges inserted per statement when a dataset's legacy ranges are registered (each is 3 numbers of JSON). */
const RANGES_PER_STATEMENT = 2_000;

/** A closed range of image ids [first, last] owned by one dataset. */
export interface IdRange {
  first: number;
  last: number;
  datasetId: number;
}

/**
 * Allocates the next block of IMAGE_BLOCK_SIZE image ids to dataset `datasetId`: [first, first + 65,535], with
 * first ≥ IMAGE_BLOCK_BASE. One D1 statement, so two allocations at once (two objects, or one object twice) get
 * different blocks: D1 runs one statement at a time. Throws D1's error when the dataset is not in the registry
 * (foreign key), so no block is ever owned by nobody.
 */
export async function allocateImageBlock(env: Env, datasetId: number): Promise<IdRange> {
  const row = await env.DB.prepare(
    `INSERT INTO image_id_ranges (first_id, last_id, dataset_id, kind)
     SELECT s, s + ?2 - 1, ?1, 'block' FROM (
       SELECT COALESCE((SELECT last_id + 1 FROM image_id_ranges WHERE first_id >= ?3 ORDER BY first_id DESC LIMIT 1), ?3) AS s)
     RETURNING first_id, last_id`,
  )
    .bind(datasetId, IMAGE_BLOCK_SIZE, IMAGE_BLOCK_BASE)
    .first<{ first_id: number; last_id: number }>();
  if (!row) throw new Error(`no image id block allocated for dataset ${datasetId}`);
  return { first: row.first_id, last: row.last_id, datasetId };
}

/**
 * The runs of dataset `datasetId`'s image ids in D1's `images` that no other dataset's id interrupts, ascending.
 * An id that belongs to nobody (a deleted image's) may fall inside a run: AUTOINCREMENT never hands it out again.
 * Reads the dataset's ids along `images_dataset_id_idx` and, at each gap between two of them, seeks the primary key
 * once for an id in between: O(images of the dataset), whatever the size of D1.
 */
export async function legacyImageRanges(env: Env, datasetId: number): Promise<IdRange[]> {
  const { results } = await env.DB.prepare(
    `WITH own AS (SELECT id, lead(id) OVER (ORDER BY id) AS nxt FROM images WHERE dataset_id = ?1)
     SELECT (SELECT min(id) FROM images WHERE dataset_id = ?1) AS first_own, id, nxt FROM own
     WHERE nxt IS NULL OR (nxt > id + 1 AND EXISTS (SELECT 1 FROM images o WHERE o.id > own.id AND o.id < own.nxt))
     ORDER BY id`,
  )
    .bind(datasetId)
    .all<{ first_own: number; id: number; nxt: number | null }>();
  // Each row ends a run: another dataset's id lies between it and its next own id, or it is the last own id.
  const ranges: IdRange[] = [];
  let first = results[0]?.first_own;
  for (const r of results) {
    ranges.push({ first, last: r.id, datasetId });
    if (r.nxt !== null) first = r.nxt;
  }
  return ranges;
}

/**
 * Records dataset `datasetId`'s legacy image id ranges (legacyImageRanges) in `image_id_ranges`, replacing the ones
 * recorded before, in one D1 batch: a reader sees the old ranges or the new, never none. Idempotent; run it when a
 * copy is verified and again at switch-over, after the dataset's writes are stopped, so ids added meanwhile are
 * covered. Returns the number of ranges.
 */
export async function registerLegacyImageRanges(env: Env, datasetId: number): Promise<number> {
  const ranges = await legacyImageRanges(env, datasetId);
  const statements = [
    env.DB.prepare("DELETE FROM image_id_ranges WHERE dataset_id = ?1 AND kind = 'legacy'").bind(datasetId),
  ];
  for (let i = 0; i < ranges.length; i += RANGES_PER_STATEMENT) {
    const chunk = ranges.slice(i, i + RANGES_PER_STATEMENT).map((r) => [r.first, r.last]);
    statements.push(
      env.DB.prepare(
        `INSERT INTO image_id_ranges (first_id, last_id, dataset_id, kind)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?1, 'legacy' FROM json_each(?2)`,
      ).bind(datasetId, JSON.stringify(chunk)),
    );
  }
  await env.DB.batch(statements);
  return ranges.length;
}

/**
 * The dataset that holds image `imageId`, or null when no dataset does (never existed, or its dataset was deleted).
 * One D1 statement: the range starting at or below the id (a primary-key seek), else D1's `images` row for a
 * dataset not moved yet. A deleted image's id inside another dataset's range names that dataset, whose store then
 * answers 404 as D1 does today. Unknown ids create nothing.
 */
export async function locateImage(env: Env, imageId: number): Promise<number | null> {
  if (!Number.isSafeInteger(imageId) || imageId < 1) return null;
  const row = await env.DB.prepare(`SELECT ${IMAGE_DATASET} AS dataset_id`).bind(imageId).first<{ dataset_id: number | null }>();
  return row?.dataset_id ?? null;
}

/** SQL expression: the dataset of image ?1 (see locateImage), or NULL. */
export const IMAGE_DATASET = `COALESCE(
  (SELECT CASE WHEN last_id >= ?1 THEN dataset_id END FROM image_id_ranges WHERE first_id <= ?1 ORDER BY first_id DESC LIMIT 1),
  (SELECT dataset_id FROM images WHERE id = ?1))`;
/** SQL expression: the dataset of annotation set ?1 (D1's set registry), or NULL. */
export const SET_DATASET = "(SELECT dataset_id FROM annotation_sets WHERE id = ?1)";

/** The dataset that holds annotation set `setId` (D1's set registry), or null. */
export async function locateSet(env: Env, setId: number): Promise<number | null> {
  if (!Number.isSafeInteger(setId) || setId < 1) return null;
  const row = await env.DB.prepare(`SELECT ${SET_DATASET} AS dataset_id`).bind(setId).first<{ dataset_id: number | null }>();
  return row?.dataset_id ?? null;
}

/**
 * Where dataset `datasetId` is served from, by its registry row (D1): "d1", "frozen" (being switched over or
 * provisioned) or "object"; null when the dataset does not exist.
 */
export async function registryStore(env: Env, datasetId: number): Promise<string | null> {
  return env.DB.prepare("SELECT store FROM datasets WHERE id = ?1").bind(datasetId).first<string>("store");
}
