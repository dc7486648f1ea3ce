import { sql } from "drizzle-orm";
import { runBatch } from "../../lib/d1";
import { notFound } from "../../lib/errors";
import type { Db } from "../../db/client";
import { taskObject, type TaskType } from "../../lib/task";
import { remoDateTime } from "../../lib/timestamps";
import type { DatasetRow } from "../access";
import type { AnnotationSetRow } from "./sets";
import type { ServiceCtx } from "../context";
import { datasetDetail } from "../datasets";

const TOOLS: Record<TaskType, string[]> = {
  object_detection: ["bounding_box"],
  instance_segmentation: ["bounding_box", "polygon"],
  image_classification: ["class_selector"],
};

export interface SetClass {
  id: number;
  name: string;
  objectCount: number;
  imageCount: number;
}

/** The classes of some sets, in set order, with their counters (one indexed query). */
export async function setClasses(db: Db, setIds: number[]): Promise<Map<number, SetClass[]>> {
  const out = new Map<number, SetClass[]>(setIds.map((id) => [id, []]));
  if (!setIds.length) return out;
  const rows = await db.all<{ set_id: number; id: number; name: string; object_count: number; image_count: number }>(sql`
    SELECT sc.set_id, c.id, c.name, sc.object_count, sc.image_count
    FROM json_each(${JSON.stringify(setIds)}) s
    CROSS JOIN annotation_set_classes sc ON sc.set_id = s.value
    JOIN classes c ON c.id = sc.class_id
    ORDER BY sc.set_id, sc.position, c.id`);
  for (const r of rows) out.get(r.set_id)?.push({ id: r.id, name: r.name, objectCount: r.object_count, imageCount: r.image_count });
  return out;
}

/** The distinct tags used in a set, by name: its rows of `set_tag_counts` (kept by triggers, migrations/0007). */
export async function setTags(db: Db, setId: number): Promise<{ id: number; name: string }[]> {
  return db.all<{ id: number; name: string }>(sql`
    SELECT tags.id, tags.name FROM set_tag_counts st JOIN tags ON tags.id = st.tag_id WHERE st.set_id = ${setId} ORDER BY tags.name`);
}

/** How a class counts in statistics: objects for detection and segmentation, images for classification. */
const classCount = (task: string, c: SetClass) => (task === "image_classification" ? c.imageCount : c.objectCount);

/** `statistics` of a set list item (remo-reference §2.5), from counters only. */
export function setStatistics(set: AnnotationSetRow, totalImages: number, classes: SetClass[], tags: string[]) {
  const all = classes
    .map((c) => ({ name: c.name, count: classCount(set.task, c) }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  return {
    annotated_images_count: set.annotatedImages,
    done_count: set.doneCount,
    skipped_count: set.skippedCount,
    todo_count: Math.max(0, totalImages - set.doneCount - set.skippedCount),
    top3_classes: all.slice(0, 3),
    all_classes: all,
    tags,
    total_classes: classes.length,
    total_annotation_objects: set.totalObjects,
    images_without_annotations: Math.max(0, totalImages - set.annotatedImages),
  };
}

export function taskOf(set: AnnotationSetRow) {
  return taskObject(set.task as TaskType);
}

/** `GET /api/v1/ui/annotation-sets/{id}/` (AnnotationSetSerializer). */
export async function serializeSetDetail(ctx: ServiceCtx, set: AnnotationSetRow, dataset: DatasetRow) {
  const [classes, ds] = await Promise.all([setClasses(ctx.db, [set.id]), datasetDetail(ctx, dataset)]);
  const t = taskOf(set);
  return {
    id: set.id,
    name: set.name,
    released_at: null,
    updated_at: remoDateTime(set.updatedAt),
    task: { ...t, available_tools: TOOLS[t.type] },
    dataset: ds,
    dataset_id: dataset.id,
    last_annotated_date: remoDateTime(set.lastAnnotatedAt),
    classes: (classes.get(set.id) ?? []).map((c) => ({ id: c.id, name: c.name })),
    is_last_modified: false,
    type: "Image",
    is_public: dataset.isPublic,
  };
}

/** `GET /api/v1/ui/annotation-sets/{id}/insights/`: per class from counters, per tag by indexed counts. */
export async function setInsights(db: Db, set: AnnotationSetRow, splitByTags: string[]) {
  const [classes] = [(await setClasses(db, [set.id])).get(set.id) ?? []];
  const tagRows = await db.all<{ name: string; total_images: number; total_objects: number }>(sql`
    SELECT t.name, COUNT(*) AS total_images, COALESCE(SUM(a.object_count), 0) AS total_objects
    FROM image_tags it JOIN tags t ON t.id = it.tag_id
    LEFT JOIN annotations a ON a.set_id = it.set_id AND a.image_id = it.image_id
    WHERE it.set_id = ${set.id} GROUP BY t.id ORDER BY t.name`);
  const split = splitByTags.length
    ? await db.all<{ class: string; tag: string; n: number }>(sql`
        SELECT c.name AS class, t.name AS tag, COUNT(*) AS n FROM annotation_classes ac
        JOIN image_tags it ON it.set_id = ac.set_id AND it.image_id = ac.image_id
        JOIN tags t ON t.id = it.tag_id AND t.name IN (SELECT value FROM json_each(${JSON.stringify(splitByTags)}))
        JOIN classes c ON c.id = ac.class_id
        WHERE ac.set_id = ${set.id} GROUP BY c.id, t.id`)
    : [];
  return {
    total_annotated_images: set.annotatedImages,
    total_annotation_objects: set.totalObjects,
    results: [
      ...classes.map((c) => ({
        record_type: "class",
        class: {
          name: c.name,
          objects_per_image: c.imageCount ? c.objectCount / c.imageCount : 0,
          total_annotation_objects: c.objectCount,
          total_images: c.imageCount,
        },
        ...(splitByTags.length
          ? { split_by_tags: Object.fromEntries(splitByTags.map((t) => [t, split.find((s) => s.class === c.name && s.tag === t)?.n ?? 0])) }
          : {}),
      })),
      ...tagRows.map((t) => ({ record_type: "tag", tag: { name: t.name, total_images: t.total_images, total_annotation_objects: t.total_objects } })),
    ],
  };
}

type RawSet = {
  id: number;
  dataset_id: number;
  name: string;
  task: string;
  last_annotated_at: string | null;
  annotated_images: number;
  done_count: number;
  skipped_count: number;
  total_objects: number;
  created_at: string;
  updated_at: string;
};

function setFromRaw(r: RawSet): AnnotationSetRow {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    name: r.name,
    task: r.task,
    lastAnnotatedAt: r.last_annotated_at,
    annotatedImages: r.annotated_images,
    doneCount: r.done_count,
    skippedCount: r.skipped_count,
    totalObjects: r.total_objects,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * `GET /api/v1/ui/datasets/{id}/annotation-sets/` in one D1 batch: the dataset (for the visibility rule), the
 * page of sets with their counters, their classes and their distinct tags (`set_tag_counts`).
 */
export async function listSetsWithStatistics(ctx: ServiceCtx, datasetId: number, page: { limit: number; offset: number }) {
  const pageSets = sql`SELECT id FROM annotation_sets WHERE dataset_id = ${datasetId} ORDER BY id LIMIT ${page.limit} OFFSET ${page.offset}`;
  const [ds, n, sets, classes, tags] = await runBatch(ctx.env.DB, [
    sql`SELECT owner_id, is_public, image_count FROM datasets WHERE id = ${datasetId}`,
    sql`SELECT COUNT(*) AS n FROM annotation_sets WHERE dataset_id = ${datasetId}`,
    sql`SELECT * FROM annotation_sets WHERE dataset_id = ${datasetId} ORDER BY id LIMIT ${page.limit} OFFSET ${page.offset}`,
    sql`SELECT sc.set_id, c.id, c.name, sc.object_count, sc.image_count FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id
      WHERE sc.set_id IN (${pageSets}) ORDER BY sc.set_id, sc.position, c.id`,
    sql`SELECT st.set_id, tags.name FROM set_tag_counts st JOIN tags ON tags.id = st.tag_id
      WHERE st.set_id IN (${pageSets}) ORDER BY st.set_id, tags.name`,
  ]);
  const d = ds.results[0] as { owner_id: number; is_public: number; image_count: number } | undefined;
  if (!d || (d.owner_id !== ctx.user.id && !d.is_public)) throw notFound();
  const byClass = new Map<number, SetClass[]>();
  for (const r of classes.results as { set_id: number; id: number; name: string; object_count: number; image_count: number }[]) {
    const list = byClass.get(r.set_id) ?? [];
    list.push({ id: r.id, name: r.name, objectCount: r.object_count, imageCount: r.image_count });
    byClass.set(r.set_id, list);
  }
  const byTag = new Map<number, string[]>();
  for (const r of tags.results as { set_id: number; name: string }[]) byTag.set(r.set_id, [...(byTag.get(r.set_id) ?? []), r.name]);
  const total = d.image_count;
  const results = (sets.results as RawSet[]).map(setFromRaw).map((s) => ({
    id: s.id,
    name: s.name,
    released_at: null,
    updated_at: remoDateTime(s.updatedAt),
    task: taskOf(s),
    total_images: total,
    last_annotated_date: remoDateTime(s.lastAnnotatedAt),
    is_public: !!d.is_public,
    is_completed: total > 0 && s.annotatedImages >= total,
    statistics: setStatistics(s, total, byClass.get(s.id) ?? [], byTag.get(s.id) ?? []),
  }));
  return { count: (n.results[0] as { n: number }).n, results };
}
