import type { Env } from "../env";
import { datasetStore, type StoreCounts } from "./store";
import { afterKey, datasetWhere, STORE_TABLES, type StoreTable } from "./tables";

/** Rows per D1 read and per object write. A row is at most ~20 columns, well inside one RPC's size. */
export const COPY_PAGE_ROWS = 1000;

export interface CopyProgress {
  /** True when every table has been copied to its end. */
  done: boolean;
  /** Rows inserted by this call (rows already in the object are not counted again). */
  copied: number;
}

type Value = string | number | null;

/** One page of `table`'s rows in scope `scopeId` after keyset position `after` (null: from the start). */
function pageQuery(env: Env, t: StoreTable, scopeId: number, after: Value[] | null, limit: number) {
  const order = t.key.map((k) => `t.${k}`).join(", ");
  const cond = after ? ` AND ${afterKey(t, 2)}` : "";
  const limitParam = `?${after ? 2 + t.key.length : 2}`;
  const query = `SELECT t.rowid AS __rowid, ${t.columns} FROM "${t.name}" t WHERE ${t.where}${cond} ORDER BY ${order} LIMIT ${limitParam}`;
  return env.DB.prepare(query)
    .bind(scopeId, ...(after ?? []), limit)
    .raw<Value[]>({ columnNames: true });
}

/**
 * Copies dataset `datasetId`'s rows from D1 into its `DatasetStore`, table by table (parents first, see
 * ./tables.ts), each in the order of one of its indexes, one D1 page and one RPC per `COPY_PAGE_ROWS` rows.
 *
 * Resumable and idempotent: each table (per set, for the annotation tables) starts after the last row the object
 * already holds, and the object skips rows it has, so a call cut short (a budget, a crash, a retried queue
 * message) is simply called again. Does at least one page per call; stops with `done: false` once `budgetMs` has
 * passed.
 *
 * Rows updated or deleted in D1 after they were copied are not seen: the switch-over must stop writes to the dataset,
 * run a last pass and check `compareStoreCounts` first (see README, "Per-dataset Durable Objects").
 * @throws when the dataset does not exist in D1 (nothing is written then).
 */
export async function copyDatasetToStore(
  env: Env,
  datasetId: number,
  opts: { budgetMs?: number; pageRows?: number } = {},
): Promise<CopyProgress> {
  const deadline = Date.now() + (opts.budgetMs ?? 20_000);
  const pageRows = opts.pageRows ?? COPY_PAGE_ROWS;
  const store = datasetStore(env, datasetId);
  const sets = await env.DB.prepare("SELECT id FROM annotation_sets WHERE dataset_id = ?1 ORDER BY id").bind(datasetId).raw<[number]>();
  const exists = await env.DB.prepare("SELECT 1 AS x FROM datasets WHERE id = ?1").bind(datasetId).first();
  if (!exists) throw new Error(`dataset ${datasetId} does not exist`);
  const setIds = sets.map(([id]) => id);
  const last = await store.lastKeys(datasetId, setIds);
  let copied = 0;
  for (const t of STORE_TABLES) {
    for (const scopeId of t.scope === "dataset" ? [datasetId] : setIds) {
      let after: Value[] | null = last[t.scope === "dataset" ? t.name : `${t.name}:${scopeId}`] ?? null;
      for (;;) {
        // Stop only after inserting something, so a short budget still makes progress (re-reading rows the
        // object already has, e.g. the owner's, does not count).
        if (copied > 0 && Date.now() > deadline) return { done: false, copied };
        const [columns, ...rows] = (await pageQuery(env, t, scopeId, after, pageRows)) as [string[], ...Value[][]];
        if (!rows.length) break;
        copied += await store.importRows(t.name, { columns: columns as string[], rows });
        const lastRow = rows[rows.length - 1];
        after = t.key.map((k) => lastRow[columns.indexOf(k === "rowid" ? "__rowid" : k)]);
        if (rows.length < pageRows) break;
      }
    }
  }
  return { done: true, copied };
}

/** D1's and the object's row counts for the dataset's own tables, and whether they agree. */
export async function compareStoreCounts(
  env: Env,
  datasetId: number,
): Promise<{ equal: boolean; d1: Record<string, number>; store: StoreCounts }> {
  const counted = STORE_TABLES.filter((t) => t.counted);
  const rows = await env.DB.batch(
    counted.map((t) => env.DB.prepare(`SELECT count(*) AS n FROM "${t.name}" t WHERE ${datasetWhere(t)}`).bind(datasetId)),
  );
  const d1: Record<string, number> = {};
  counted.forEach((t, i) => (d1[t.name] = Number((rows[i].results[0] as { n: number }).n)));
  const store = await datasetStore(env, datasetId).counts();
  const equal = counted.every((t) => d1[t.name] === store.tables[t.name]);
  return { equal, d1, store };
}
