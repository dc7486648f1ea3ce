import { sql, type SQL } from "drizzle-orm";
import { runBatch } from "../../lib/d1";
import { ApiError, forbidden, notFound } from "../../lib/errors";
import { normalizeClassName } from "../../lib/names";
import { extentProblem, pointsExtent } from "../../lib/object-bounds";
import type { AnnotationSetRow } from "./sets";
import { addClassesToSetStatements } from "./sets";
import type { ServiceCtx } from "../context";
import { annotationInfoQueries, assembleAnnotationInfo, type AnnotationInfoResult } from "./image-annotations";
import { imageShareStatements } from "./statistics";

export const STATUS_VALUES = { not_annotated: -1, skipped: 0, done: 1 } as const;
export type StatusName = keyof typeof STATUS_VALUES;
export function statusName(v: number | null | undefined): StatusName {
  return v === 1 ? "done" : v === 0 ? "skipped" : "not_annotated";
}

export interface ImageRef {
  id: number;
  datasetId: number;
  width: number;
  height: number;
  originalName: string;
}

/** The image, if it is in the set's dataset (ids in a path belong together, else 404). */
export async function imageOfSet(ctx: ServiceCtx, set: AnnotationSetRow, imageId: number): Promise<ImageRef> {
  const [img] = await ctx.db.all<{ id: number; dataset_id: number; width: number; height: number; original_name: string }>(sql`
    SELECT id, dataset_id, width, height, original_name FROM images WHERE id = ${imageId} AND dataset_id = ${set.datasetId}`);
  if (!img) throw notFound();
  return { id: img.id, datasetId: img.dataset_id, width: img.width, height: img.height, originalName: img.original_name };
}

export interface Target {
  set: { id: number; datasetId: number; task: string };
  img: ImageRef;
}

type TargetRow = {
  owner_id: number;
  is_public: number;
  set_id: number | null;
  dataset_id: number;
  task: string | null;
  image_id: number | null;
  width: number;
  height: number;
  original_name: string;
};

/** The visibility rule, then the set and the image (in that order, as separate routes would check them). */
function checkTarget(ctx: ServiceCtx, r: TargetRow | undefined, write: boolean, message: string): Target {
  if (!r || (r.owner_id !== ctx.user.id && !r.is_public)) throw notFound();
  if (write && r.owner_id !== ctx.user.id) throw forbidden(message);
  if (r.set_id === null || r.task === null) throw notFound();
  if (r.image_id === null) throw notFound();
  return {
    set: { id: r.set_id, datasetId: r.dataset_id, task: r.task },
    img: { id: r.image_id, datasetId: r.dataset_id, width: r.width, height: r.height, originalName: r.original_name },
  };
}

/** `/api/dataset/{ds}/annotation-set/{set}/image/{img}/...`: dataset, set and image resolved in one query. */
export async function legacyTarget(ctx: ServiceCtx, datasetId: number, setId: number, imageId: number, write: boolean, message: string) {
  const [row] = await ctx.db.all<TargetRow>(sql`
    SELECT d.owner_id, d.is_public, d.id AS dataset_id, s.id AS set_id, s.task, i.id AS image_id, i.width, i.height, i.original_name
    FROM datasets d
    LEFT JOIN annotation_sets s ON s.id = ${setId} AND s.dataset_id = d.id
    LEFT JOIN images i ON i.id = ${imageId} AND i.dataset_id = d.id
    WHERE d.id = ${datasetId}`);
  return checkTarget(ctx, row, write, message);
}

/** `/api/v1/ui/annotation-sets/{set}/images/{img}/...`: the set's dataset decides who may see and write. */
export async function setImageTarget(ctx: ServiceCtx, setId: number, imageId: number, write: boolean, message: string) {
  const [row] = await ctx.db.all<TargetRow>(sql`
    SELECT d.owner_id, d.is_public, d.id AS dataset_id, s.id AS set_id, s.task, i.id AS image_id, i.width, i.height, i.original_name
    FROM annotation_sets s
    JOIN datasets d ON d.id = s.dataset_id
    LEFT JOIN images i ON i.id = ${imageId} AND i.dataset_id = s.dataset_id
    WHERE s.id = ${setId}`);
  return checkTarget(ctx, row, write, message);
}

export interface SaveObjectInput {
  name?: string;
  kind?: "bbox" | "polygon";
  coordinates: { x: number; y: number }[];
  classes?: ({ name: string } | string)[];
}

export interface SaveInput {
  objects?: SaveObjectInput[];
  classes?: ({ name: string; score?: number | null } | string)[];
  status?: string;
  skipNewClasses?: boolean;
}

const className = (c: { name: string } | string) => normalizeClassName(typeof c === "string" ? c : c.name);

/**
 * Validates points against the image: finite, non-negative numbers only (400 otherwise), truncated to ints as
 * Remo stores them, and clamped to the image's far edges. 2 points are a bbox (min/max corners), 3 or more a polygon.
 * An object with no area once clamped (wholly past the far edge, e.g. x 150–180 on a 100-px-wide image, or of zero
 * width or height) is a 400 naming it (`objects.N` and its name), never stored as a zero-area box (issue 10; rule
 * in lib/object-bounds.ts).
 */
export function objectCoordinates(o: SaveObjectInput, index: number, img: ImageRef): { kind: "bbox" | "polygon"; flat: number[] } {
  const path = `objects.${index}.coordinates`;
  const pts = o.coordinates;
  const bad = (message: string) => new ApiError("BAD_REQUEST", `Invalid body: ${path}: ${message}`, { issues: [{ path, message }] });
  for (const p of pts) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) throw bad("coordinates must be finite numbers");
    if (p.x < 0 || p.y < 0) throw bad(`point (${p.x}, ${p.y}) is outside the ${img.width}x${img.height} image`);
  }
  const kind = o.kind ?? (pts.length === 2 ? "bbox" : "polygon");
  if (kind === "polygon" && pts.length < 3) throw bad("a polygon needs at least 3 points");
  if (kind === "bbox" && pts.length !== 2) throw bad("a bbox is exactly 2 points");
  // Past the far edge is clamped (API.md): editors routinely drag a box a pixel beyond the border.
  const problem = extentProblem(pointsExtent(pts.flatMap((p) => [p.x, p.y])), img.width, img.height);
  if (problem) throw bad(`${kind}${o.name ? ` '${o.name}'` : ""}: ${problem}`);
  const xs = pts.map((p) => Math.min(img.width, Math.trunc(p.x)));
  const ys = pts.map((p) => Math.min(img.height, Math.trunc(p.y)));
  if (kind === "bbox") return { kind, flat: [Math.min(xs[0], xs[1]), Math.min(ys[0], ys[1]), Math.max(xs[0], xs[1]), Math.max(ys[0], ys[1])] };
  return { kind, flat: xs.flatMap((x, i) => [x, ys[i]]) };
}

/**
 * Remo's save-annotation: replaces the image's objects and classes in the set (tags stay). Identical coordinates
 * merge, positions are renumbered 1..n, unknown classes join the set unless `skipNewClasses`. Counters move in
 * the same batch by the image's share before and after.
 */
export async function saveImageAnnotation(ctx: ServiceCtx, set: { id: number }, img: ImageRef, input: SaveInput): Promise<AnnotationInfoResult> {
  const objects = new Map<string, { kind: "bbox" | "polygon"; name: string; classes: Set<string> }>();
  (input.objects ?? []).forEach((o, i) => {
    const { kind, flat } = objectCoordinates(o, i, img);
    const key = JSON.stringify(flat);
    const cls = new Set((o.classes ?? []).map(className).filter(Boolean));
    const prev = objects.get(key);
    if (prev) for (const c of cls) prev.classes.add(c);
    else objects.set(key, { kind, name: o.name ?? "", classes: cls });
  });
  const imageClasses = new Map<string, number | null>();
  for (const c of input.classes ?? []) {
    const n = className(c);
    if (n && !imageClasses.has(n)) imageClasses.set(n, typeof c === "string" ? 1 : (c.score ?? null));
  }
  const mentioned = new Set<string>([...imageClasses.keys()]);
  for (const o of objects.values()) for (const c of o.classes) mentioned.add(c);

  if (input.skipNewClasses && mentioned.size) {
    const known = await ctx.db.all<{ name: string }>(sql`
      SELECT c.name FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id
      WHERE sc.set_id = ${set.id} AND c.name IN (SELECT value FROM json_each(${JSON.stringify([...mentioned])}))`);
    const ok = new Set(known.map((k) => k.name));
    for (const o of objects.values()) for (const c of [...o.classes]) if (!ok.has(c)) o.classes.delete(c);
    for (const c of [...imageClasses.keys()]) if (!ok.has(c)) imageClasses.delete(c);
    for (const c of [...mentioned]) if (!ok.has(c)) mentioned.delete(c);
  }

  const status = input.status !== undefined ? STATUS_VALUES[input.status as StatusName] ?? -1 : null;
  const ids = JSON.stringify([img.id]);
  const rows = [...objects.entries()].map(([c, o], i) => ({ p: i + 1, n: o.name || `OBJ ${i + 1}`, k: o.kind, c }));
  const links = [...objects.entries()].flatMap(([c, o]) => [...o.classes].map((name) => ({ c, name })));
  const now = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
  const stmts: SQL[] = [
    ...(!input.skipNewClasses && mentioned.size ? addClassesToSetStatements(set.id, [...mentioned]) : []),
    ...imageShareStatements(set.id, ids, -1),
    // A new row is done unless told otherwise (Remo's SDK always sends "done"); an existing one keeps its status.
    sql`INSERT INTO annotations (set_id, image_id, status) VALUES (${set.id}, ${img.id}, ${status ?? 1})
      ON CONFLICT (set_id, image_id) DO UPDATE SET status = COALESCE(${status}, status), updated_at = ${now}`,
    sql`DELETE FROM annotation_classes WHERE set_id = ${set.id} AND image_id = ${img.id}`,
    sql`DELETE FROM annotation_objects WHERE set_id = ${set.id} AND image_id = ${img.id}`,
  ];
  if (rows.length)
    stmts.push(sql`INSERT INTO annotation_objects (annotation_id, set_id, image_id, position, name, kind, coordinates)
      SELECT a.id, ${set.id}, ${img.id}, json_extract(j.value, '$.p'), json_extract(j.value, '$.n'), json_extract(j.value, '$.k'), json_extract(j.value, '$.c')
      FROM json_each(${JSON.stringify(rows)}) j CROSS JOIN annotations a ON a.set_id = ${set.id} AND a.image_id = ${img.id}`);
  if (links.length)
    stmts.push(sql`INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id)
      SELECT o.annotation_id, o.id, ${set.id}, ${img.id}, c.id
      FROM json_each(${JSON.stringify(links)}) j
      CROSS JOIN annotation_objects o ON o.set_id = ${set.id} AND o.image_id = ${img.id} AND o.coordinates = json_extract(j.value, '$.c')
      JOIN classes c ON c.name = json_extract(j.value, '$.name')`);
  if (imageClasses.size)
    stmts.push(sql`INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id, score)
      SELECT a.id, NULL, ${set.id}, ${img.id}, c.id, json_extract(j.value, '$.s')
      FROM json_each(${JSON.stringify([...imageClasses].map(([name, s]) => ({ name, s })))}) j
      CROSS JOIN annotations a ON a.set_id = ${set.id} AND a.image_id = ${img.id}
      JOIN classes c ON c.name = json_extract(j.value, '$.name')`);
  stmts.push(
    ...imageShareStatements(set.id, ids, 1),
    sql`UPDATE annotation_sets SET last_annotated_at = ${now}, updated_at = ${now} WHERE id = ${set.id}`,
    // The answer is read inside the same batch: no further round trip.
    ...annotationInfoQueries(set.id, img.id),
  );
  const res = await runBatch(ctx.env.DB, stmts);
  return assembleAnnotationInfo(res.slice(-3).map((r) => r.results) as Parameters<typeof assembleAnnotationInfo>[0]);
}

/** Clears the image's objects and classes in the set (tags and status stay). */
export async function clearImageAnnotation(ctx: ServiceCtx, set: { id: number }, img: ImageRef) {
  const ids = JSON.stringify([img.id]);
  await runBatch(ctx.env.DB, [
    ...imageShareStatements(set.id, ids, -1),
    sql`DELETE FROM annotation_classes WHERE set_id = ${set.id} AND image_id = ${img.id}`,
    sql`DELETE FROM annotation_objects WHERE set_id = ${set.id} AND image_id = ${img.id}`,
    ...imageShareStatements(set.id, ids, 1),
  ]);
}

/** v1 status: unknown values become not_annotated, as Remo does. */
export async function setImageStatus(ctx: ServiceCtx, set: { id: number }, img: ImageRef, status: unknown): Promise<StatusName> {
  const name: StatusName = typeof status === "string" && status in STATUS_VALUES ? (status as StatusName) : "not_annotated";
  const ids = JSON.stringify([img.id]);
  await runBatch(ctx.env.DB, [
    ...imageShareStatements(set.id, ids, -1),
    sql`INSERT INTO annotations (set_id, image_id, status) VALUES (${set.id}, ${img.id}, ${STATUS_VALUES[name]})
      ON CONFLICT (set_id, image_id) DO UPDATE SET status = excluded.status, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    ...imageShareStatements(set.id, ids, 1),
  ]);
  return name;
}
