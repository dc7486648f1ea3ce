import { and, eq, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { annotationSets, blobGc, datasets, images } from "../db/schema";
import type { ServiceCtx } from "./context";
import { recomputeSetStatistics } from "./statistics";

export type NonEmptyBatch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

/**
 * Statements (for one batch()) that delete the images of a dataset matching `where`, keeping the dataset's
 * counters and its sets' statistics right and marking their originals for the blob sweep.
 */
export async function deleteImagesStatements(ctx: ServiceCtx, datasetId: number, where: SQL): Promise<BatchItem<"sqlite">[]> {
  const scope = and(eq(images.datasetId, datasetId), where);
  const sets = await ctx.db.select({ id: annotationSets.id }).from(annotationSets).where(eq(annotationSets.datasetId, datasetId));
  return [
    ctx.db.run(sql`INSERT OR IGNORE INTO ${blobGc} (r2_key) SELECT DISTINCT ${images.r2Key} FROM ${images} WHERE ${scope} AND ${images.linked} = 0`),
    ctx.db.run(sql`UPDATE ${datasets} SET
        image_count = image_count - (SELECT COUNT(*) FROM ${images} WHERE ${scope}),
        size_in_bytes = size_in_bytes - (SELECT COALESCE(SUM(size), 0) FROM ${images} WHERE ${scope}),
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = ${datasetId}`),
    // Annotations, their objects and class links and tags go with the images (ON DELETE CASCADE).
    ctx.db.delete(images).where(scope),
    ...sets.flatMap((s) => recomputeSetStatistics(ctx.db, s.id)),
  ];
}
