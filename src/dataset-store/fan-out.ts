import type { Env } from "../env";

/** RPCs in flight at once when a list or the global search reads several moved datasets. */
export const STORE_FAN_OUT = 6;

/**
 * Which of `datasetIds` are served by their DatasetStore (`datasets.store = 'object'`), for the routes that read
 * many datasets at once (the dataset lists, the legacy global search): their rows there are the true ones; D1 has a
 * stale copy until the prune job drops it (prune-d1.ts), or none (issue 13). Empty when routing is off, and inside an object (where the one dataset is local). One D1
 * statement, none for an empty list.
 */
export async function movedDatasets(env: Env, datasetIds: number[]): Promise<Set<number>> {
  if (env.DATASET_STORE_ROUTING !== "on" || env.DATASET_STORE_ID || !datasetIds.length) return new Set();
  const { results } = await env.DB.prepare("SELECT id FROM datasets WHERE store = 'object' AND id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(datasetIds))
    .all<{ id: number }>();
  return new Set(results.map((r) => r.id));
}

/** `fn` over `items`, at most `limit` at a time, results in the order of `items`. */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
    }),
  );
  return out;
}
