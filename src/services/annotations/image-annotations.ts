import { sql, type SQL } from "drizzle-orm";
import { runBatch } from "../../lib/d1";
import type { Db } from "../../db/client";

export interface Point {
  x: number;
  y: number;
}

/** An image's annotation in one set, as the contents listing and search show it (remo-reference §2.10). */
export interface ContentsAnnotation {
  annotation_set_id: number;
  coordinates: Point[][];
  classes: string[];
  object_classes: string[][];
  tags: string[];
}

/** Stored coordinates are a flat [x1, y1, x2, y2, ...] array; bboxes are their two corners. */
export function toPoints(flat: number[]): Point[] {
  const pts: Point[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pts.push({ x: flat[i], y: flat[i + 1] });
  return pts;
}

type SetRow = { id: number };
type ObjectRow = { id: number; set_id: number; image_id: number; coordinates: string };
type ClassLinkRow = { set_id: number; image_id: number; object_id: number | null; name: string };
type TagLinkRow = { set_id: number; image_id: number; name: string };

/**
 * The four indexed reads behind contentsAnnotations, for a page of images given as an SQL expression that
 * yields image ids (a json_each of ids, or the page query itself), so a caller can put them in the same D1
 * batch as the query that finds the page: one round trip instead of several.
 */
export function contentsAnnotationQueries(datasetId: number, imageIds: SQL): [SQL, SQL, SQL, SQL] {
  return [
    sql`SELECT id FROM annotation_sets WHERE dataset_id = ${datasetId} ORDER BY id`,
    sql`SELECT o.id, o.set_id, o.image_id, o.coordinates FROM annotation_objects o
      WHERE o.set_id IN (SELECT id FROM annotation_sets WHERE dataset_id = ${datasetId}) AND o.image_id IN ${imageIds}
      ORDER BY o.set_id, o.image_id, o.position, o.id`,
    sql`SELECT ac.set_id, ac.image_id, ac.object_id, c.name FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id
      WHERE ac.set_id IN (SELECT id FROM annotation_sets WHERE dataset_id = ${datasetId}) AND ac.image_id IN ${imageIds}
      ORDER BY ac.id`,
    sql`SELECT it.set_id, it.image_id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id
      WHERE it.image_id IN ${imageIds}
      ORDER BY t.name`,
  ];
}

/**
 * The per-set annotations of a page of images, one entry per set of the dataset for every image, in one D1
 * batch of four indexed queries whatever the page size (ids go in as one json_each parameter).
 */
export async function contentsAnnotations(db: Db, datasetId: number, imageIds: number[]): Promise<Map<number, ContentsAnnotation[]>> {
  if (!imageIds.length) return new Map();
  const res = await runBatch(db.$client, contentsAnnotationQueries(datasetId, sql`(SELECT value FROM json_each(${JSON.stringify(imageIds)}))`));
  return assembleContentsAnnotations(imageIds, res.map((r) => r.results) as [SetRow[], ObjectRow[], ClassLinkRow[], TagLinkRow[]]);
}

/** Builds the entries from the rows of contentsAnnotationQueries. */
export function assembleContentsAnnotations(
  imageIds: number[],
  [sets, objects, classLinks, tagLinks]: [SetRow[], ObjectRow[], ClassLinkRow[], TagLinkRow[]],
): Map<number, ContentsAnnotation[]> {
  const out = new Map<number, ContentsAnnotation[]>();
  const key = (setId: number, imageId: number) => `${setId}:${imageId}`;
  const entries = new Map<string, ContentsAnnotation>();
  for (const imageId of imageIds) {
    const list = sets.map((s) => {
      const e: ContentsAnnotation = { annotation_set_id: s.id, coordinates: [], classes: [], object_classes: [], tags: [] };
      entries.set(key(s.id, imageId), e);
      return e;
    });
    out.set(imageId, list);
  }
  const objectIndex = new Map<number, { entry: ContentsAnnotation; i: number }>();
  for (const o of objects) {
    const e = entries.get(key(o.set_id, o.image_id));
    if (!e) continue;
    objectIndex.set(o.id, { entry: e, i: e.coordinates.length });
    e.coordinates.push(toPoints(JSON.parse(o.coordinates)));
    e.object_classes.push([]);
  }
  for (const c of classLinks) {
    const e = entries.get(key(c.set_id, c.image_id));
    if (!e) continue;
    if (c.object_id !== null) {
      const hit = objectIndex.get(c.object_id);
      if (hit) hit.entry.object_classes[hit.i].push(c.name);
    }
    if (!e.classes.includes(c.name)) e.classes.push(c.name);
  }
  for (const t of tagLinks) {
    const e = entries.get(key(t.set_id, t.image_id));
    if (e && !e.tags.includes(t.name)) e.tags.push(t.name);
  }
  return out;
}

export interface ObjectInfo {
  name: string;
  coordinates: Point[];
  auto_created: boolean;
  position_number: number;
  classes: { name: string; lower: string; questionable: boolean }[];
}
export interface ClassInfo {
  name: string;
  lower: string;
  questionable: boolean;
  score?: number;
}

/**
 * Remo's `annotation_info` of one image in one set (remo-reference §2.8): objects with their classes for
 * detection and segmentation, image-level classes (told apart by their top-level `lower`) for classification.
 */
type AnnRow = { id: number; status: number; created_at: string; updated_at: string };
type InfoObjectRow = { id: number; name: string; position: number; coordinates: string };
type InfoLinkRow = { object_id: number | null; name: string; score: number | null };
export type AnnotationInfoResult = { annotation: AnnRow | null; info: (ObjectInfo | ClassInfo)[] };

/** The three reads behind annotationInfo, so a write can append them to its own batch and answer at once. */
export function annotationInfoQueries(setId: number, imageId: number): [SQL, SQL, SQL] {
  return [
    sql`SELECT id, status, created_at, updated_at FROM annotations WHERE set_id = ${setId} AND image_id = ${imageId}`,
    sql`SELECT id, name, position, coordinates FROM annotation_objects WHERE set_id = ${setId} AND image_id = ${imageId} ORDER BY position, id`,
    sql`SELECT ac.object_id, c.name, ac.score FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id
      WHERE ac.set_id = ${setId} AND ac.image_id = ${imageId} ORDER BY ac.id`,
  ];
}

export async function annotationInfo(db: Db, setId: number, imageId: number): Promise<AnnotationInfoResult> {
  const res = await runBatch(db.$client, annotationInfoQueries(setId, imageId));
  return assembleAnnotationInfo(res.map((r) => r.results) as [AnnRow[], InfoObjectRow[], InfoLinkRow[]]);
}

export function assembleAnnotationInfo([ann, objects, links]: [AnnRow[], InfoObjectRow[], InfoLinkRow[]]): AnnotationInfoResult {
  const byObject = new Map<number, string[]>();
  const imageLevel: ClassInfo[] = [];
  for (const l of links) {
    if (l.object_id === null) {
      imageLevel.push({ name: l.name, lower: l.name.toLowerCase(), questionable: false, ...(l.score !== null ? { score: l.score } : {}) });
    } else {
      const list = byObject.get(l.object_id) ?? [];
      list.push(l.name);
      byObject.set(l.object_id, list);
    }
  }
  const info: (ObjectInfo | ClassInfo)[] = objects.map((o) => ({
    name: o.name,
    coordinates: toPoints(JSON.parse(o.coordinates)),
    auto_created: false,
    position_number: o.position,
    classes: (byObject.get(o.id) ?? []).map((n) => ({ name: n, lower: n.toLowerCase(), questionable: false })),
  }));
  return { annotation: ann[0] ?? null, info: [...info, ...imageLevel] };
}

/** One entry per set of the dataset, as the full image serializer shows them (remo-reference §2.4). */
export async function imageDetailAnnotations(db: Db, datasetId: number, imageId: number) {
  const [sets, byImage] = await Promise.all([
    db.all<{ id: number; name: string; task: string }>(sql`SELECT id, name, task FROM annotation_sets WHERE dataset_id = ${datasetId} ORDER BY id`),
    contentsAnnotations(db, datasetId, [imageId]),
  ]);
  const [tagRows, objects] = await Promise.all([
    db.all<{ set_id: number; id: number; name: string }>(sql`
      SELECT it.set_id, t.id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.image_id = ${imageId} ORDER BY t.name`),
    db.all<{ id: number; set_id: number; name: string }>(sql`
      SELECT o.id, o.set_id, o.name FROM annotation_objects o
      WHERE o.image_id = ${imageId} AND o.set_id IN (SELECT id FROM annotation_sets WHERE dataset_id = ${datasetId})
      ORDER BY o.set_id, o.position, o.id`),
  ]);
  const entries = byImage.get(imageId) ?? [];
  return sets.map((s) => {
    const e = entries.find((x) => x.annotation_set_id === s.id);
    const counts: Record<string, number> = {};
    for (const oc of e?.object_classes ?? []) for (const c of oc) counts[c] = (counts[c] ?? 0) + 1;
    for (const c of e?.classes ?? []) if (!(c in counts)) counts[c] = 1;
    const setObjects = objects.filter((o) => o.set_id === s.id);
    return {
      annotation_set: { id: s.id, name: s.name, task: s.task },
      tags: tagRows.filter((t) => t.set_id === s.id).map((t) => ({ id: t.id, name: t.name })),
      classes: counts,
      objects: setObjects.map((o, i) => ({ id: o.id, name: o.name, coordinates: e?.coordinates[i] ?? [], classes: e?.object_classes[i] ?? [] })),
    };
  });
}
