import type { Env } from "../env";
import { datasetStore, type StoreCounts } from "./store";
import { STORE_TABLES } from "./tables";

/** Rows per D1 read and per object write. A row is at most ~20 columns, well inside one RPC's size. */
export const COPY_PAGE_ROWS = 1000;

export interface CopyProgress {
  /** True when every table has been copied to its end. */
  done: boolean;
  /** Rows inserted by this call (rows already in the object are not counted again). */
  copied: number;
}

/**
 * Copies dataset `datasetId`'s rows from D1 into its `DatasetStore`, table by table in rowid order (parents first,
 * see ./tables.ts), one D1 page and one RPC per `COPY_PAGE_ROWS` rows.
 *
 * Resumable and idempotent: each table starts after the highest rowid the object already holds, and the object
 * skips rows it has, so a call cut short (a budget, a crash, a retried queue message) is simply called again.
 * Stops early, with `done: false`, once `budgetMs` has passed.
 *
 * Rows updated or deleted in D1 after they were copied are not seen: the switch-over must stop writes to the dataset,
 * run a last pass and check `compareStoreCounts` first (see README, "Moving datasets into their objects").
 */
export async function copyDatasetToStore(
  env: Env,
  datasetId: number,
  opts: { budgetMs?: number; pageRows?: number } = {},
): Promise<CopyProgress> {
  const deadline = Date.now() + (opts.budgetMs ?? 20_000);
  const pageRows = opts.pageRows ?? COPY_PAGE_ROWS;
  const store = datasetStore(env, datasetId);
  const exists = await env.DB.prepare("SELECT 1 AS x FROM datasets WHERE id = ?1").bind(datasetId).first();
  if (!exists) throw new Error(`dataset ${datasetId} does not exist`);
  const after = await store.maxRowIds();
  let copied = 0;
  for (const table of STORE_TABLES) {
    let cursor = after[table.name] ?? 0;
    for (;;) {
      // At least one page per call, so a short budget still makes progress.
      if (copied > 0 && Date.now() > deadline) return { done: false, copied };
      const page = await env.DB.prepare(`${table.select} AND t.rowid > ?2 ORDER BY t.rowid LIMIT ?3`)
        .bind(datasetId, cursor, pageRows)
        .raw<(string | number | null)[]>({ columnNames: true });
      const [columns, ...rows] = page as [string[], ...(string | number | null)[][]];
      if (!rows.length) break;
      copied += await store.importRows(table.name, { columns, rows });
      cursor = Number(rows[rows.length - 1][0]);
      if (rows.length < pageRows) break;
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
    counted.map((t) => env.DB.prepare(`SELECT count(*) AS n FROM (${t.select})`).bind(datasetId)),
  );
  const d1: Record<string, number> = {};
  counted.forEach((t, i) => (d1[t.name] = Number((rows[i].results[0] as { n: number }).n)));
  const store = await datasetStore(env, datasetId).counts();
  const equal = counted.every((t) => d1[t.name] === store.tables[t.name]);
  return { equal, d1, store };
}
