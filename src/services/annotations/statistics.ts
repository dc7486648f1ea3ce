import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";

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
 * True for annotation row `a` whose image carries anything in its set (an object, a class, a tag): what
 * `annotation_sets.annotated_images` counts. Three EXISTS on indexes, so cheap per image.
 */
const annotated = sql`(EXISTS (SELECT 1 FROM annotation_objects o WHERE o.annotation_id = a.id)
  OR EXISTS (SELECT 1 FROM annotation_classes ac WHERE ac.annotation_id = a.id)
  OR EXISTS (SELECT 1 FROM image_tags t WHERE t.set_id = a.set_id AND t.image_id = a.image_id))`;

/**
 * Statements that take (sign -1) or give back (sign +1) the share of a list of images in a set's counters. A
 * write touching known images runs [-1, ...writes, +1] in one runBatch(): the counters move by exactly what the
 * write changed, computed from the rows inside the same transaction, so concurrent writers cannot skew them and
 * no statement scans the whole set. `imageIds` is a JSON array of distinct image ids (one bound parameter), or a
 * query yielding them as `value` (e.g. `SELECT id AS value FROM images WHERE ...`, for deletes: only the -1 half
 * is needed there, since the rows are gone after).
 */
export function imageShareStatements(setId: number, imageIds: string | SQL, sign: 1 | -1): SQL[] {
  const op = sql.raw(sign === 1 ? "+" : "-");
  const source = typeof imageIds === "string" ? sql`json_each(${imageIds})` : sql`(${imageIds})`;
  const inList = sql`(SELECT value FROM ${source})`;
  const stmts: SQL[] = [];
  // CROSS JOIN keeps json_each as the outer loop: otherwise SQLite may scan the whole set per listed image.
  if (sign === 1) {
    // object_count of the annotation rows themselves: recounted from the (indexed) objects of these images.
    stmts.push(sql`UPDATE annotations SET object_count = (SELECT COUNT(*) FROM annotation_objects o WHERE o.annotation_id = annotations.id)
        WHERE set_id = ${setId} AND image_id IN ${inList}`);
  }
  stmts.push(
    sql`UPDATE annotation_sets SET
        total_objects = total_objects ${op} (SELECT COUNT(*) FROM annotation_objects o WHERE o.set_id = ${setId} AND o.image_id IN ${inList}),
        done_count = done_count ${op} (SELECT COUNT(*) FROM annotations a WHERE a.set_id = ${setId} AND a.image_id IN ${inList} AND a.status = 1),
        skipped_count = skipped_count ${op} (SELECT COUNT(*) FROM annotations a WHERE a.set_id = ${setId} AND a.image_id IN ${inList} AND a.status = 0),
        annotated_images = annotated_images ${op} (SELECT COUNT(*) FROM annotations a WHERE a.set_id = ${setId} AND a.image_id IN ${inList} AND ${annotated})
      WHERE id = ${setId}`,
    sql`UPDATE annotation_set_classes SET
        object_count = object_count ${op} agg.o,
        image_count = image_count ${op} agg.i
      FROM (SELECT ac.class_id, SUM(ac.object_id IS NOT NULL) AS o, COUNT(DISTINCT ac.image_id) AS i
            FROM ${source} j CROSS JOIN annotation_classes ac ON ac.set_id = ${setId} AND ac.image_id = j.value
            GROUP BY ac.class_id) AS agg
      WHERE annotation_set_classes.set_id = ${setId} AND annotation_set_classes.class_id = agg.class_id`,
  );
  return stmts;
}

/**
 * The counters an import moves that can be read per image or per (image, class) pair in O(log n), as a share to
 * take (sign -1, before the writes) and give back (sign +1, after them) in one runBatch(), like
 * imageShareStatements: `done_count`, `skipped_count`, `annotated_images` (one annotation row and three EXISTS
 * per image) and each class's `image_count` (one EXISTS per pair, on the (set, class, image) index).
 *
 * What it leaves out, `total_objects`, the classes' `object_count` and the annotations' `object_count`, the
 * import adds as deltas it knows (objects and links it inserts), since an import never removes a row. Recounting
 * them, as imageShareStatements does, visits every object the images already have: a streamed COCO file touches
 * the same images in each of its batches, so that was quadratic in the file (issue 13's 860,000-annotation bench).
 *
 * `imageIds`: JSON array of distinct image ids. `pairChunks`: JSON arrays of `[imageId, classId]`, together the
 * distinct pairs the write may link (every class of every object and image link it inserts), one statement each.
 */
export function importShareStatements(setId: number, imageIds: string, pairChunks: string[], sign: 1 | -1): SQL[] {
  const op = sql.raw(sign === 1 ? "+" : "-");
  const rowsOf = sql`json_each(${imageIds}) j CROSS JOIN annotations a ON a.set_id = ${setId} AND a.image_id = j.value`;
  return [
    sql`UPDATE annotation_sets SET
        done_count = done_count ${op} (SELECT COUNT(*) FROM ${rowsOf} WHERE a.status = 1),
        skipped_count = skipped_count ${op} (SELECT COUNT(*) FROM ${rowsOf} WHERE a.status = 0),
        annotated_images = annotated_images ${op} (SELECT COUNT(*) FROM ${rowsOf} WHERE ${annotated})
      WHERE id = ${setId}`,
    ...pairChunks.map(
      (pairs) => sql`UPDATE annotation_set_classes SET image_count = image_count ${op} agg.i
      FROM (SELECT json_extract(j.value, '$[1]') AS class_id, COUNT(*) AS i FROM json_each(${pairs}) j
            WHERE EXISTS (SELECT 1 FROM annotation_classes ac WHERE ac.set_id = ${setId}
              AND ac.class_id = json_extract(j.value, '$[1]') AND ac.image_id = json_extract(j.value, '$[0]'))
            GROUP BY 1) AS agg
      WHERE annotation_set_classes.set_id = ${setId} AND annotation_set_classes.class_id = agg.class_id`,
    ),
  ];
}
