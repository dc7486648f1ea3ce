import { sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import type { Env } from "../../env";
import { enqueue } from "../../storage/queues";
import { STORE_FAN_OUT, mapBounded } from "../../dataset-store/fan-out";
import { datasetStore } from "../../dataset-store/store";

const PAGE = 50;

/**
 * Deletes GC candidates (R2 keys whose image rows were deleted) that no image row points at any more.
 * The reference check runs right before each delete, so a blob re-uploaded meanwhile is kept. Works in pages
 * and re-enqueues itself, so one invocation stays small whatever the backlog.
 */
export async function sweepBlobs(env: Env): Promise<void> {
  const db = createDb(env.DB);
  const candidates = await db.all<{ r2_key: string; used: number; refs: string }>(sql`
    SELECT g.r2_key, EXISTS (SELECT 1 FROM images i WHERE i.r2_key = g.r2_key) AS used,
      (SELECT json_group_array(r.dataset_id) FROM blob_refs r WHERE r.r2_key = g.r2_key) AS refs
    FROM blob_gc g ORDER BY g.r2_key LIMIT ${PAGE}`);
  if (!candidates.length) return;
  const inStores = await usedInStores(env, candidates.filter((c) => !c.used));
  const unused = candidates.filter((c) => !c.used && !inStores.has(c.r2_key)).map((c) => c.r2_key);
  if (unused.length) {
    await env.BUCKET.delete(unused);
    // Derived pyramid chunks live under the original's key; a very large image has more than one listing page.
    await Promise.all(unused.map((key) => deletePrefix(env.BUCKET, `derived/${key}/`)));
  }
  await db.run(sql`DELETE FROM blob_gc WHERE r2_key IN (SELECT value FROM json_each(${JSON.stringify(candidates.map((c) => c.r2_key))}))`);
  if (candidates.length === PAGE) await enqueue(env.INGEST, { type: "gc-blobs" });
}

/**
 * The keys among `candidates` that a DatasetStore's images still point at. Each candidate's blob_refs datasets are
 * asked (one RPC per dataset, at most STORE_FAN_OUT at once); a reference whose object no longer uses the key is
 * deleted, so it is asked once. A dataset that cannot answer keeps its keys (the next sweep asks again): a blob is
 * only deleted when every reference to it has been checked.
 */
async function usedInStores(env: Env, candidates: { r2_key: string; refs: string }[]): Promise<Set<string>> {
  const byDataset = new Map<number, string[]>();
  for (const c of candidates)
    for (const id of JSON.parse(c.refs) as number[]) byDataset.set(id, [...(byDataset.get(id) ?? []), c.r2_key]);
  const used = new Set<string>();
  await mapBounded([...byDataset], STORE_FAN_OUT, async ([datasetId, keys]) => {
    let kept: string[];
    try {
      kept = await datasetStore(env, datasetId).usedBlobs(keys);
    } catch {
      keys.forEach((k) => used.add(k));
      return;
    }
    kept.forEach((k) => used.add(k));
    const gone = keys.filter((k) => !kept.includes(k));
    if (gone.length)
      await env.DB.prepare("DELETE FROM blob_refs WHERE dataset_id = ?1 AND r2_key IN (SELECT value FROM json_each(?2))")
        .bind(datasetId, JSON.stringify(gone))
        .run();
  });
  return used;
}

async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<void> {
  let cursor: string | undefined;
  do {
    const listed = await bucket.list({ prefix, limit: 1000, cursor });
    if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key));
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
}
