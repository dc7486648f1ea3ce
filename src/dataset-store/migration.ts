import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueue, enqueueMany } from "../storage/queues";
import { compareStoreCounts, copyDatasetToStore } from "./copy-from-d1";
import { registerLegacyImageRanges, registryStore } from "./locate";
import { schedulePrune } from "./prune-d1";
import { datasetStore } from "./store";

/** Wall-clock budget of one copy pass (one queue message); a dataset larger than one pass re-enqueues itself. */
export const COPY_PASS_MS = 10_000;
/** Datasets enqueued per fan-out message (sendBatch's limit is 100). */
const FAN_OUT_PAGE = 100;

export type CopyState = "copying" | "verified" | "mismatch" | "failed" | "switching" | "switched" | "pruned";

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
  // Only a dataset D1 serves is copied: one in its object (switched, maybe pruned, or created there) or being
  // switched has nothing in D1 a copy could add, and its recorded state must not turn into a false `mismatch`.
  const store = await registryStore(env, datasetId);
  if (store !== "d1") return;
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

async function copyState(env: Env, datasetId: number): Promise<CopyState | null> {
  return env.DB.prepare("SELECT state FROM dataset_store_copies WHERE dataset_id = ?1").bind(datasetId).first<CopyState>("state");
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
    store: (await registryStore(env, datasetId)) ?? "d1",
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
    const store = await registryStore(env, datasetId);
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
 * Once switched, D1's stale copy of the rows is dropped by the `prune-dataset-d1` job after pruneDelaySeconds
 * (prune-d1.ts; state `pruned`). A retried message of a dataset already switched queues that prune again (the
 * pass that switched it may have failed to), so a dataset never stays unpruned for a lost send.
 */
export async function runSwitchOver(env: Env, datasetId: number, fresh: boolean): Promise<void> {
  const store = await registryStore(env, datasetId);
  // A retry of the pass that switched it (its prune could not be queued): queue the prune again, idempotent.
  if (store === "object" && (await copyState(env, datasetId)) === "switched") return schedulePrune(env, datasetId);
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
  await schedulePrune(env, datasetId);
}

/**
 * Switch-all fan-out (queue message `switch-dataset-stores`): startSwitchOver for each dataset still served by D1
 * with id > `afterId`, FAN_OUT_PAGE at a time, then itself again for the next page. A dataset refused as busy (an
 * open upload, a queued or running job) stays in D1 and is logged; running the fan-out again picks it up, as it
 * picks up datasets whose switch failed (the operator list, datasetStoreList, shows what is left).
 */
export async function fanOutSwitchOvers(env: Env, afterId: number): Promise<void> {
  const ids = await env.DB.prepare("SELECT id FROM datasets WHERE id > ?1 AND store = 'd1' ORDER BY id LIMIT ?2")
    .bind(afterId, FAN_OUT_PAGE)
    .raw<[number]>();
  const busy: number[] = [];
  for (const [datasetId] of ids) if ((await startSwitchOver(env, datasetId)) === "busy") busy.push(datasetId);
  if (busy.length) log("info", "-", "switch-all: busy datasets stay in D1 for now", { busy });
  if (ids.length === FAN_OUT_PAGE) await enqueue(env.INGEST, { type: "switch-dataset-stores", afterId: ids[ids.length - 1][0] });
}

export interface StoreListEntry {
  dataset_id: number;
  name: string;
  store: string;
  state: CopyState | null;
  updated_at: string | null;
}

export interface StoreList {
  /** Datasets by where they are served from: d1, frozen (being switched or provisioned), object. */
  stores: Record<string, number>;
  /** Datasets by their recorded copy or switch state (`none`: never copied; created in D1 or in its object). */
  states: Record<string, number>;
  datasets: StoreListEntry[];
  /** Pass as `after_id` for the next page; null on the last page. */
  next_after_id: number | null;
}

/**
 * The operator's view of the move (GET /api/v1/admin/dataset-stores): totals by store and by state over every
 * dataset, and one page of datasets (id order, after `afterId`, at most `limit`), optionally only those in `store`
 * or in `state`. Two D1 statements for the totals (the registry is a few rows per dataset) and one per page.
 */
export async function datasetStoreList(
  env: Env,
  opts: { store?: string; state?: string; afterId: number; limit: number },
): Promise<StoreList> {
  const filter = "(?1 IS NULL OR d.store = ?1) AND (?2 IS NULL OR coalesce(c.state, 'none') = ?2)";
  const [stores, states, page] = await env.DB.batch([
    env.DB.prepare("SELECT store AS k, count(*) AS n FROM datasets GROUP BY store"),
    env.DB.prepare("SELECT coalesce(c.state, 'none') AS k, count(*) AS n FROM datasets d LEFT JOIN dataset_store_copies c ON c.dataset_id = d.id GROUP BY 1"),
    env.DB.prepare(
      `SELECT d.id AS dataset_id, d.name, d.store, c.state, c.updated_at FROM datasets d
       LEFT JOIN dataset_store_copies c ON c.dataset_id = d.id WHERE d.id > ?3 AND ${filter} ORDER BY d.id LIMIT ?4`,
    ).bind(opts.store ?? null, opts.state ?? null, opts.afterId, opts.limit + 1),
  ]);
  const totals = (r: D1Result) => Object.fromEntries((r.results as { k: string; n: number }[]).map((x) => [x.k, x.n]));
  const rows = page.results as unknown as StoreListEntry[];
  const more = rows.length > opts.limit;
  const datasets = rows.slice(0, opts.limit);
  return {
    stores: { d1: 0, frozen: 0, object: 0, ...totals(stores) },
    states: totals(states),
    datasets,
    next_after_id: more ? datasets[datasets.length - 1].dataset_id : null,
  };
}

/** The dead-letter end of `switch-dataset-store`: the dataset is served from D1 again, the switch marked `failed`. */
export async function failSwitchOver(env: Env, datasetId: number): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("UPDATE datasets SET store = 'd1' WHERE id = ?1 AND store = 'frozen'").bind(datasetId),
    env.DB.prepare(`UPDATE dataset_store_copies SET state = 'failed', updated_at = ${now} WHERE dataset_id = ?1`).bind(datasetId),
  ]);
}
