import { sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import type { Env } from "../../env";
import { enqueue } from "../../storage/queues";

const PAGE = 50;

/**
 * Deletes GC candidates (R2 keys whose image rows were deleted) that no image row points at any more.
 * The reference check runs right before each delete, so a blob re-uploaded meanwhile is kept. Works in pages
 * and re-enqueues itself, so one invocation stays small whatever the backlog.
 */
export async function sweepBlobs(env: Env): Promise<void> {
  const db = createDb(env.DB);
  const candidates = await db.all<{ r2_key: string; used: number }>(sql`
    SELECT g.r2_key, EXISTS (SELECT 1 FROM images i WHERE i.r2_key = g.r2_key) AS used
    FROM blob_gc g ORDER BY g.r2_key LIMIT ${PAGE}`);
  if (!candidates.length) return;
  const unused = candidates.filter((c) => !c.used).map((c) => c.r2_key);
  if (unused.length) {
    await env.BUCKET.delete(unused);
    // Derived pyramid chunks live under the original's key; a very large image has more than one listing page.
    await Promise.all(unused.map((key) => deletePrefix(env.BUCKET, `derived/${key}/`)));
  }
  await db.run(sql`DELETE FROM blob_gc WHERE r2_key IN (SELECT value FROM json_each(${JSON.stringify(candidates.map((c) => c.r2_key))}))`);
  if (candidates.length === PAGE) await enqueue(env.INGEST, { type: "gc-blobs" });
}

async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<void> {
  let cursor: string | undefined;
  do {
    const listed = await bucket.list({ prefix, limit: 1000, cursor });
    if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key));
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
}
