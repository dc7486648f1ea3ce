import { sql } from "drizzle-orm";
import type { Db } from "../db/client";

export interface ClassCount {
  name: string;
  count: number;
}

/** Classes of each dataset with their object counts (summed over its sets), most used first, from counters. */
export async function topClassesByDataset(db: Db, datasetIds: number[]): Promise<Map<number, ClassCount[]>> {
  const out = new Map<number, ClassCount[]>();
  if (!datasetIds.length) return out;
  const rows = await db.all<{ dataset_id: number; name: string; count: number }>(sql`
    SELECT s.dataset_id, c.name, SUM(sc.object_count + CASE WHEN s.task = 'image_classification' THEN sc.image_count ELSE 0 END) AS count
    FROM annotation_sets s
    JOIN annotation_set_classes sc ON sc.set_id = s.id
    JOIN classes c ON c.id = sc.class_id
    WHERE s.dataset_id IN (SELECT value FROM json_each(${JSON.stringify(datasetIds)}))
    GROUP BY s.dataset_id, c.id
    ORDER BY s.dataset_id, count DESC, c.name`);
  for (const r of rows) {
    const list = out.get(r.dataset_id) ?? [];
    list.push({ name: r.name, count: r.count });
    out.set(r.dataset_id, list);
  }
  return out;
}

/**
 * Statements that recompute a set's counters from its rows. Used where a write touches an unknown number of
 * annotations at once (image or folder deletion, class deletion); put them in the same batch() as that write.
 */
export function recomputeSetStatistics(db: Db, setId: number) {
  return [
    db.run(sql`UPDATE annotations SET object_count = (SELECT COUNT(*) FROM annotation_objects o WHERE o.annotation_id = annotations.id) WHERE set_id = ${setId}`),
    db.run(sql`UPDATE annotation_set_classes SET
        object_count = (SELECT COUNT(*) FROM annotation_classes ac WHERE ac.set_id = ${setId} AND ac.class_id = annotation_set_classes.class_id AND ac.object_id IS NOT NULL),
        image_count = (SELECT COUNT(DISTINCT ac.image_id) FROM annotation_classes ac WHERE ac.set_id = ${setId} AND ac.class_id = annotation_set_classes.class_id)
      WHERE set_id = ${setId}`),
    db.run(sql`UPDATE annotation_sets SET
        total_objects = (SELECT COUNT(*) FROM annotation_objects o WHERE o.set_id = ${setId}),
        done_count = (SELECT COUNT(*) FROM annotations a WHERE a.set_id = ${setId} AND a.status = 1),
        skipped_count = (SELECT COUNT(*) FROM annotations a WHERE a.set_id = ${setId} AND a.status = 0),
        annotated_images = (SELECT COUNT(*) FROM annotations a WHERE a.set_id = ${setId} AND (
          a.object_count > 0
          OR EXISTS (SELECT 1 FROM annotation_classes ac WHERE ac.annotation_id = a.id)
          OR EXISTS (SELECT 1 FROM image_tags t WHERE t.set_id = a.set_id AND t.image_id = a.image_id)))
      WHERE id = ${setId}`),
  ] as const;
}
