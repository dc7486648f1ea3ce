import { and, eq, sql, type SQL } from "drizzle-orm";
import { annotationSets, blobGc, datasets, images } from "../../db/schema";
import type { ServiceCtx } from "../context";
import { imageShareStatements } from "../annotations/statistics";

/**
 * Statements (for one runBatch()) that delete the images of a dataset matching `where`, keeping the dataset's
 * counters and its sets' statistics right and marking their originals for the blob sweep.
 */
export async function deleteImagesStatements(ctx: ServiceCtx, datasetId: number, where: SQL): Promise<SQL[]> {
  const scope = and(eq(images.datasetId, datasetId), where);
  const sets = await ctx.db.select({ id: annotationSets.id }).from(annotationSets).where(eq(annotationSets.datasetId, datasetId));
  return [
    ...(await blobCandidateStatements(ctx, scope)),
    sql`UPDATE ${datasets} SET
        image_count = image_count - (SELECT COUNT(*) FROM ${images} WHERE ${scope}),
        size_in_bytes = size_in_bytes - (SELECT COALESCE(SUM(size), 0) FROM ${images} WHERE ${scope}),
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = ${datasetId}`,
    // Take these images' share out of each set's counters before the rows go: no statement scans a whole set.
    ...sets.flatMap((s) => imageShareStatements(s.id, sql`SELECT id AS value FROM ${images} WHERE ${scope}`, -1)),
    // Annotations, their objects and class links and tags go with the images (ON DELETE CASCADE).
    sql`DELETE FROM ${images} WHERE ${scope}`,
  ];
}

/** R2 keys inserted by value per statement (a few hundred KB of JSON, well inside D1's 2 MB per value). */
const KEYS_PER_STATEMENT = 5_000;

/**
 * Statements that record the R2 keys of the uploaded (not linked) originals of the images matching `scope` as
 * blob-GC candidates. Served from D1: one INSERT … SELECT, in the caller's batch. Inside a DatasetStore (issue 13),
 * `blob_gc` is D1's and the images are the object's, so the keys are read in the object first and inserted by value
 * (docs/dataset-store-audit.md, class C); the caller's batch then runs this D1 part before its object part.
 */
export async function blobCandidateStatements(ctx: ServiceCtx, scope: SQL | undefined): Promise<SQL[]> {
  if (!ctx.env.DATASET_STORE_ID)
    return [sql`INSERT OR IGNORE INTO ${blobGc} (r2_key) SELECT DISTINCT ${images.r2Key} FROM ${images} WHERE ${scope} AND ${images.linked} = 0`];
  const rows = await ctx.db.all<{ r2_key: string }>(sql`SELECT DISTINCT ${images.r2Key} AS r2_key FROM ${images} WHERE ${scope} AND ${images.linked} = 0`);
  const out: SQL[] = [];
  for (let i = 0; i < rows.length; i += KEYS_PER_STATEMENT) {
    const keys = JSON.stringify(rows.slice(i, i + KEYS_PER_STATEMENT).map((r) => r.r2_key));
    out.push(sql`INSERT OR IGNORE INTO ${blobGc} (r2_key) SELECT value FROM json_each(${keys})`);
  }
  return out;
}
