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
    sql`INSERT OR IGNORE INTO ${blobGc} (r2_key) SELECT DISTINCT ${images.r2Key} FROM ${images} WHERE ${scope} AND ${images.linked} = 0`,
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
