import type { Env } from "../env";
import { enqueue, enqueueMany } from "../storage/queues";
import { compareStoreCounts, copyDatasetToStore } from "./copy-from-d1";
import { registerLegacyImageRanges } from "./locate";
import { datasetStore } from "./store";

/** Wall-clock budget of one copy pass (one queue message); a dataset larger than one pass re-enqueues itself. */
export const COPY_PASS_MS = 10_000;
/** Datasets enqueued per fan-out message (sendBatch's limit is 100). */
const FAN_OUT_PAGE = 100;

export type CopyState = "copying" | "verified" | "mismatch" | "failed" | "switching" | "switched";

const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** True when dataset `datasetId` is in the registry (D1). */
export async function datasetExists(env: Env, datasetId: number): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 AS x FROM datasets WHERE id = ?1").bind(datasetId).first()) !== null;
}

/**
 * One pass of the D1 → DatasetStore copy of dataset `datasetId` (queue message `copy-dataset-store`), recorded in
 * D1's `dataset_store_copies`. Not done → the message is enqueued again and this one acked. Done → the counts are
 * compared and the state becomes `verified` (its image id ranges registered, their number in `detail`) or `mismatch`
 * (with both counts in `detail`). Idempotent and resumable:
 * see copyDatasetToStore. A dataset deleted before or during the pass leaves no object data behind.
 */
export async function runStoreCopy(env: Env, datasetId: number): Promise<void> {
  if (!(await datasetExists(env, datasetId))) return;
  await env.DB.prepare(
    `INSERT INTO dataset_store_copies (dataset_id, state) VALUES (?1, 'copying')
     ON CONFLICT (dataset_id) DO UPDATE SET state = 'copying', detail = NULL, updated_at = ${now}`,
  )
    .bind(datasetId)
    .run();
  const progress = await copyDatasetToStore(env, datasetId, { budgetMs: COPY_PASS_MS });
  // deleteDataset empties the object after removing the rows; a pass that was writing meanwhile must not leave
  // the object holding a deleted dataset.
  if (!(await datasetExists(env, datasetId))) {
    await datasetStore(env, datasetId).destroy();
    return;
  }
  await env.DB.prepare(
    `UPDATE dataset_store_copies SET rows_copied = rows_copied + ?2, passes = passes + 1, updated_at = ${now} WHERE dataset_id = ?1`,
  )
    .bind(datasetId, progress.copied)
    .run();
  if (!progress.done) {
    await enqueue(env.INGEST, { type: "copy-dataset-store", datasetId });
    return;
  }
  const check = await compareStoreCounts(env, datasetId);
  // A verified copy also records where its image ids are (locate.ts), so id-only routes can find the object.
  const detail = check.equal
    ? { image_id_ranges: await registerLegacyImageRanges(env, datasetId) }
    : { d1: check.d1, store: check.store.tables };
  await env.DB.prepare(`UPDATE dataset_store_copies SET state = ?2, detail = ?3, updated_at = ${now} WHERE dataset_id = ?1`)
    .bind(datasetId, check.equal ? "verified" : "mismatch", JSON.stringify(detail))
    .run();
}

/** The dead-letter end of `copy-dataset-store`: the copy is marked `failed` (a new request starts it again). */
export async function failStoreCopy(env: Env, datasetId: number): Promise<void> {
  await env.DB.prepare(`UPDATE dataset_store_copies SET state = 'failed', updated_at = ${now} WHERE dataset_id = ?1`).bind(datasetId).run();
}

/**
 * Fan-out (queue message `copy-dataset-stores`): one `copy-dataset-store` message per dataset with id > `afterId`,
 * `FAN_OUT_PAGE` at a time, then itself again for the next page, so no invocation handles more than one page.
 */
export async function fanOutStoreCopies(env: Env, afterId: number): Promise<void> {
  const ids = await env.DB.prepare("SELECT id FROM datasets WHERE id > ?1 ORDER BY id LIMIT ?2").bind(afterId, FAN_OUT_PAGE).raw<[number]>();
  await enqueueMany(
    env.INGEST,
    ids.map(([datasetId]) => ({ type: "copy-dataset-store" as const, datasetId })),
  );
  if (ids.length === FAN_OUT_PAGE) await enqueue(env.INGEST, { type: "copy-dataset-stores", afterId: ids[ids.length - 1][0] });
}

export interface StoreCopyStatus {
  dataset_id: number;
  state: CopyState | null;
  rows_copied: number;
  passes: number;
  detail: unknown;
  updated_at: string | null;
  store: string;
  counts: Awaited<ReturnType<typeof compareStoreCounts>>;
}

/** The recorded copy state of dataset `datasetId` and its counts now, in D1 and in the object. */
export async function storeCopyStatus(env: Env, datasetId: number): Promise<StoreCopyStatus> {
  const row = await env.DB.prepare("SELECT state, rows_copied, passes, detail, updated_at FROM dataset_store_copies WHERE dataset_id = ?1")
    .bind(datasetId)
    .first<{ state: CopyState; rows_copied: number; passes: number; detail: string | null; updated_at: string }>();
  return {
    dataset_id: datasetId,
    state: row?.state ?? null,
    rows_copied: row?.rows_copied ?? 0,
    passes: row?.passes ?? 0,
    detail: row?.detail ? JSON.parse(row.detail) : null,
    updated_at: row?.updated_at ?? null,
    store: (await env.DB.prepare("SELECT store FROM datasets WHERE id = ?1").bind(datasetId).first<string>("store")) ?? "d1",
    counts: await compareStoreCounts(env, datasetId),
  };
}

/** Seconds between freezing a dataset and its switch-over copy: requests already past the routing check finish. */
export const SWITCH_GRACE_S = 30;

export type SwitchStart = "frozen" | "busy" | "moved" | "switching" | "routing-off";

/**
 * Starts moving dataset `datasetId` to its DatasetStore (operator route): its registry row goes from 'd1' to
 * 'frozen' in one statement, refused while an upload session is open or being ingested, or an export or pyramid
 * job is queued or running (their work would land in D1 after the copy). From then on its writes answer 503 and
 * its reads are still served from D1. Refused while DATASET_STORE_ROUTING is not "on" (nothing would reach the
 * object). Then the `switch-dataset-store` job copies it after SWITCH_GRACE_S.
 */
export async function startSwitchOver(env: Env, datasetId: number): Promise<SwitchStart> {
  if (env.DATASET_STORE_ROUTING !== "on") return "routing-off";
  const row = await env.DB.prepare(
    `UPDATE datasets SET store = 'frozen' WHERE id = ?1 AND store = 'd1'
       AND NOT EXISTS (SELECT 1 FROM upload_sessions WHERE dataset_id = ?1 AND status NOT IN ('done', 'failed'))
       AND NOT EXISTS (SELECT 1 FROM jobs WHERE dataset_id = ?1 AND status IN ('queued', 'running'))
     RETURNING store`,
  )
    .bind(datasetId)
    .first();
  if (!row) {
    const store = await env.DB.prepare("SELECT store FROM datasets WHERE id = ?1").bind(datasetId).first<string>("store");
    return store === "object" ? "moved" : store === "frozen" ? "switching" : "busy";
  }
  await env.DB.prepare(
    `INSERT INTO dataset_store_copies (dataset_id, state) VALUES (?1, 'switching')
     ON CONFLICT (dataset_id) DO UPDATE SET state = 'switching', detail = NULL, rows_copied = 0, passes = 0, updated_at = ${now}`,
  )
    .bind(datasetId)
    .run();
  await enqueue(env.INGEST, { type: "switch-dataset-store", datasetId, fresh: true }, SWITCH_GRACE_S);
  return "frozen";
}

/**
 * One pass of a switch-over (queue message `switch-dataset-store`), for a dataset frozen by startSwitchOver.
 * The first pass (`fresh`) empties the object: a copy made earlier cannot see rows updated or deleted since. Each
 * pass copies for COPY_PASS_MS and re-enqueues itself until done. Then the counts are compared: equal → the image
 * id ranges are registered and the registry row says 'object', so requests go to the object from then on
 * (state `switched`); different → the dataset goes back to 'd1' (state `mismatch`, both counts in `detail`).
 * D1 keeps a stale copy of the dataset's rows: the blob GC still asks D1 whether a blob is used (README).
 */
export async function runSwitchOver(env: Env, datasetId: number, fresh: boolean): Promise<void> {
  const store = await env.DB.prepare("SELECT store FROM datasets WHERE id = ?1").bind(datasetId).first<string>("store");
  if (store !== "frozen") return;
  if (fresh) await datasetStore(env, datasetId).destroy();
  const progress = await copyDatasetToStore(env, datasetId, { budgetMs: COPY_PASS_MS });
  await env.DB.prepare(
    `UPDATE dataset_store_copies SET rows_copied = rows_copied + ?2, passes = passes + 1, updated_at = ${now} WHERE dataset_id = ?1`,
  )
    .bind(datasetId, progress.copied)
    .run();
  if (!progress.done) {
    await enqueue(env.INGEST, { type: "switch-dataset-store", datasetId, fresh: false });
    return;
  }
  const check = await compareStoreCounts(env, datasetId);
  if (!check.equal) {
    await env.DB.batch([
      env.DB.prepare("UPDATE datasets SET store = 'd1' WHERE id = ?1").bind(datasetId),
      env.DB.prepare(`UPDATE dataset_store_copies SET state = 'mismatch', detail = ?2, updated_at = ${now} WHERE dataset_id = ?1`).bind(
        datasetId,
        JSON.stringify({ d1: check.d1, store: check.store.tables }),
      ),
    ]);
    return;
  }
  const ranges = await registerLegacyImageRanges(env, datasetId);
  await env.DB.batch([
    env.DB.prepare("UPDATE datasets SET store = 'object' WHERE id = ?1 AND store = 'frozen'").bind(datasetId),
    env.DB.prepare(`UPDATE dataset_store_copies SET state = 'switched', detail = ?2, updated_at = ${now} WHERE dataset_id = ?1`).bind(
      datasetId,
      JSON.stringify({ image_id_ranges: ranges }),
    ),
  ]);
}

/** The dead-letter end of `switch-dataset-store`: the dataset is served from D1 again, the switch marked `failed`. */
export async function failSwitchOver(env: Env, datasetId: number): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("UPDATE datasets SET store = 'd1' WHERE id = ?1 AND store = 'frozen'").bind(datasetId),
    env.DB.prepare(`UPDATE dataset_store_copies SET state = 'failed', updated_at = ${now} WHERE dataset_id = ?1`).bind(datasetId),
  ]);
}
