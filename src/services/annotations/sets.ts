import { and, eq, sql } from "drizzle-orm";
import { annotationSets } from "../../db/schema";
import type { Db } from "../../db/client";
import { isUniqueViolation, nameOrSuffixed, runBatch } from "../../lib/d1";
import { ApiError, notFound } from "../../lib/errors";
import { nextFreeName, normalizeClassName } from "../../lib/names";
import type { TaskType } from "../../lib/task";
import { readableDataset, writableDataset, type DatasetRow } from "../access";
import type { ServiceCtx } from "../context";

export type AnnotationSetRow = typeof annotationSets.$inferSelect;

/** Remo's duplicate-name text (create and rename answer it as a 400). */
export const duplicateSetName = (name: string) =>
  new ApiError("BAD_REQUEST", `Annotation set with giving name '${name}', exists in current dataset.`);

/** The most names an imported ordered class list (YOLO `classes.txt` / `data.yaml` `names`) may hold. */
export const MAX_CLASS_LIST = 10_000;

/**
 * A bound JSON list stays well under D1's largest string value (2,000,000 bytes): a longer list is bound in
 * several chunks, one statement each, so a list of long names cannot make the batch (and its queue message) fail.
 */
export const MAX_BOUND_JSON = 256 * 1024;

/** De-duplicated, Remo-capitalised class names in first-seen order, empty ones dropped. */
export function normalizeClassList(names: string[]): string[] {
  const seen = new Set<string>();
  for (const n of names) {
    const c = normalizeClassName(n);
    if (c) seen.add(c);
  }
  return [...seen];
}

/** `names` as consecutive JSON arrays of at most MAX_BOUND_JSON bytes (a longer single name is a chunk alone), with their offsets. */
export function jsonChunks(names: string[], maxBytes = MAX_BOUND_JSON): { offset: number; json: string }[] {
  const enc = new TextEncoder();
  const out: { offset: number; json: string }[] = [];
  let start = 0;
  let bytes = 2;
  for (let i = 0; i < names.length; i++) {
    const size = enc.encode(JSON.stringify(names[i])).length + 1;
    if (i > start && bytes + size > maxBytes) {
      out.push({ offset: start, json: JSON.stringify(names.slice(start, i)) });
      start = i;
      bytes = 2;
    }
    bytes += size;
  }
  if (names.length > start) out.push({ offset: start, json: JSON.stringify(names.slice(start)) });
  return out;
}

/**
 * Get-or-create global classes and append any not yet in the set (positions after the last one). Each chunk's
 * statements read the positions the chunks before it wrote, so the names keep their order.
 */
export function addClassesToSetStatements(setId: number, names: string[]) {
  return jsonChunks(names).flatMap(({ json }) => [
    sql`INSERT OR IGNORE INTO classes (name) SELECT value FROM json_each(${json})`,
    sql`INSERT OR IGNORE INTO annotation_set_classes (set_id, class_id, position)
      SELECT ${setId}, c.id, (SELECT COALESCE(MAX(position), -1) + 1 FROM annotation_set_classes WHERE set_id = ${setId}) + j.key
      FROM json_each(${json}) j JOIN classes c ON c.name = j.value`,
  ]);
}

/**
 * Makes `names` (normalised, de-duplicated, in order) the set's first classes, at positions 0..n-1, and moves its
 * other classes after them in their previous order; with `addMissing`, names not yet in the set join it first.
 * For an imported ordered class list (YOLO `classes.txt` / `data.yaml` `names`): the exporters list classes by
 * position, so YOLO ids survive a round trip even when the list's classes were met in another order or not at all.
 * The list is bound in chunks: each marks its classes with a negative position (-1 - index; positions are otherwise
 * never negative), then one statement reads every position before writing any (the window function sorts them all
 * first) and places the marked ones at their index, the others after them. The caller runs these in one batch, so
 * a concurrent import appending classes cannot interleave.
 */
export function orderSetClassesStatements(setId: number, names: string[], addMissing: boolean) {
  const list = normalizeClassList(names);
  return [
    ...(addMissing ? addClassesToSetStatements(setId, list) : []),
    ...jsonChunks(list).map(
      ({ offset, json }) => sql`UPDATE annotation_set_classes SET position = -1 - (${offset} + l.key)
        FROM json_each(${json}) l JOIN classes c ON c.name = l.value
        WHERE annotation_set_classes.set_id = ${setId} AND annotation_set_classes.class_id = c.id`,
    ),
    sql`UPDATE annotation_set_classes SET position = r.pos
      FROM (SELECT x.class_id AS class_id,
              CASE WHEN x.position < 0 THEN -1 - x.position
                ELSE ${list.length} + ROW_NUMBER() OVER (PARTITION BY x.position < 0 ORDER BY x.position, x.class_id) - 1 END AS pos
            FROM annotation_set_classes x
            WHERE x.set_id = ${setId}) AS r
      WHERE annotation_set_classes.set_id = ${setId} AND annotation_set_classes.class_id = r.class_id`,
  ];
}

/**
 * Creates a set in a dataset (no access check: callers check it). With `uniqueName`, a taken name becomes
 * `Name (N)` as the upload path does (Remo names sets after the task); otherwise a taken name is Remo's 400.
 */
export async function createAnnotationSet(
  db: Db,
  input: { datasetId: number; name: string; task: TaskType; classes?: string[]; uniqueName?: boolean },
): Promise<AnnotationSetRow> {
  const base = input.name.trim();
  for (let attempt = 0; attempt < 5; attempt++) {
    const name = input.uniqueName ? await uniqueSetName(db, input.datasetId, base) : base;
    let row: AnnotationSetRow;
    try {
      [row] = await db
        .insert(annotationSets)
        .values({ datasetId: input.datasetId, name, task: input.task })
        .returning();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      if (!input.uniqueName) throw duplicateSetName(base);
      continue;
    }
    const classes = normalizeClassList(input.classes ?? []);
    if (classes.length) await runBatch(db.$client, addClassesToSetStatements(row.id, classes));
    return row;
  }
  throw duplicateSetName(base);
}

/** `Name`, then `Name (N)` with N one past the largest in use in the dataset. */
export async function uniqueSetName(db: Db, datasetId: number, name: string): Promise<string> {
  const rows = await db.all<{ name: string }>(
    sql`SELECT name FROM annotation_sets WHERE dataset_id = ${datasetId} AND ${nameOrSuffixed(sql`name`, name)}`,
  );
  return nextFreeName(
    name,
    rows.map((r) => r.name),
  );
}

/** The set and its dataset, if the caller may read it (a private dataset's set is a 404 to others). */
export async function readableSet(
  ctx: ServiceCtx,
  setId: number,
): Promise<{ set: AnnotationSetRow; dataset: DatasetRow }> {
  const [set] = await ctx.db.select().from(annotationSets).where(eq(annotationSets.id, setId)).limit(1);
  if (!set) throw notFound();
  const dataset = await readableDataset(ctx, set.datasetId);
  return { set, dataset };
}

/** The set and its dataset if the caller owns the dataset: 404 when it cannot see it, 403 when it only reads it. */
export async function writableSet(
  ctx: ServiceCtx,
  setId: number,
  message = "Only dataset owner can edit annotation set.",
): Promise<{ set: AnnotationSetRow; dataset: DatasetRow }> {
  const [set] = await ctx.db.select().from(annotationSets).where(eq(annotationSets.id, setId)).limit(1);
  if (!set) throw notFound();
  const dataset = await writableDataset(ctx, set.datasetId, message);
  return { set, dataset };
}

/** A set that must belong to the given dataset (ids in a path belong together, else 404). */
export async function setInDataset(ctx: ServiceCtx, datasetId: number, setId: number): Promise<AnnotationSetRow> {
  const [set] = await ctx.db
    .select()
    .from(annotationSets)
    .where(and(eq(annotationSets.id, setId), eq(annotationSets.datasetId, datasetId)))
    .limit(1);
  if (!set) throw notFound();
  return set;
}

/** Remo's create (remo-reference §2.5): the dataset owner only; duplicate names are Remo's 400. */
export async function createSetForUser(
  ctx: ServiceCtx,
  input: { datasetId: number; name: string; task: TaskType; classes: string[] },
): Promise<AnnotationSetRow> {
  const d = await writableDataset(ctx, input.datasetId, "Only dataset owner can create new annotation set.");
  const name = input.name.trim();
  if (!name)
    throw new ApiError("BAD_REQUEST", "Annotation set name should not be empty", {
      issues: [{ path: "name", message: "must not be empty" }],
    });
  return createAnnotationSet(ctx.db, { datasetId: d.id, name, task: input.task, classes: input.classes });
}

/** The deprecated `/api/annotation-set/` create: links existing classes only, by name. */
export async function createLegacySet(
  ctx: ServiceCtx,
  input: { datasetId: number; name: string; task: TaskType; classNames: string[] },
): Promise<AnnotationSetRow> {
  const d = await writableDataset(ctx, input.datasetId, "Only dataset owner can create new annotation set.");
  const set = await createAnnotationSet(ctx.db, { datasetId: d.id, name: input.name, task: input.task });
  const names = normalizeClassList(input.classNames);
  if (names.length) {
    await runBatch(ctx.env.DB, [
      sql`INSERT OR IGNORE INTO annotation_set_classes (set_id, class_id, position)
        SELECT ${set.id}, c.id, j.key FROM json_each(${JSON.stringify(names)}) j JOIN classes c ON c.name = j.value`,
    ]);
  }
  return set;
}

export async function renameSet(ctx: ServiceCtx, setId: number, name: string): Promise<AnnotationSetRow> {
  const { set } = await writableSet(ctx, setId);
  const clean = name.trim();
  if (!clean)
    throw new ApiError("BAD_REQUEST", "Annotation set name should not be empty", {
      issues: [{ path: "name", message: "must not be empty" }],
    });
  if (clean === set.name) return set;
  try {
    const [row] = await ctx.db
      .update(annotationSets)
      .set({ name: clean, updatedAt: sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')` })
      .where(eq(annotationSets.id, set.id))
      .returning();
    return row;
  } catch (e) {
    if (isUniqueViolation(e)) throw duplicateSetName(clean);
    throw e;
  }
}

/** Objects, class links, tags and annotation rows go with the set (ON DELETE CASCADE). */
export async function deleteSet(ctx: ServiceCtx, setId: number): Promise<void> {
  const { set } = await writableSet(ctx, setId);
  await runBatch(ctx.env.DB, [
    sql`DELETE FROM annotation_classes WHERE set_id = ${set.id}`,
    sql`DELETE FROM annotation_objects WHERE set_id = ${set.id}`,
    sql`DELETE FROM annotation_sets WHERE id = ${set.id}`,
  ]);
}
