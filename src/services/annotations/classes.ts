import { sql } from "drizzle-orm";
import { runBatch, startsWithCi } from "../../lib/d1";
import { ApiError, notFound } from "../../lib/errors";
import { normalizeClassName } from "../../lib/names";
import type { PageQuery } from "../../lib/pagination";
import { writableSet } from "./sets";
import type { ServiceCtx } from "../context";
import { imageShareStatements } from "./statistics";

const emptyName = () => new ApiError("BAD_REQUEST", "Class name should not be empty", { issues: [{ path: "name", message: "must not be empty" }] });

/** Get-or-create a global class by its normalised name; `created` says which. */
export async function ensureClass(ctx: ServiceCtx, raw: string): Promise<{ id: number; name: string; created: boolean }> {
  const name = normalizeClassName(raw);
  if (!name) throw emptyName();
  const inserted = await ctx.db.all<{ id: number }>(sql`INSERT INTO classes (name) VALUES (${name}) ON CONFLICT (name) DO NOTHING RETURNING id`);
  if (inserted.length) return { id: inserted[0].id, name, created: true };
  const [row] = await ctx.db.all<{ id: number }>(sql`SELECT id FROM classes WHERE name = ${name}`);
  return { id: row.id, name, created: false };
}

/** `GET /api/common-class/?autocomplete=`: case-insensitive prefix, by name. */
export async function listCommonClasses(ctx: ServiceCtx, prefix: string, page: PageQuery) {
  const [[{ n }], rows] = await Promise.all([
    ctx.db.all<{ n: number }>(sql`SELECT COUNT(*) AS n FROM classes WHERE ${startsWithCi(sql`name`, prefix)}`),
    ctx.db.all<{ id: number; name: string }>(sql`
      SELECT id, name FROM classes WHERE ${startsWithCi(sql`name`, prefix)} ORDER BY name, id LIMIT ${page.limit} OFFSET ${page.offset}`),
  ]);
  return { count: n, results: rows };
}

/** Adds a class to a set: `created` is false when the set already had it (Remo's 200 vs 201). */
export async function addSetClass(ctx: ServiceCtx, setId: number, raw: string) {
  const { set } = await writableSet(ctx, setId);
  const cls = await ensureClass(ctx, raw);
  const added = await ctx.db.all<{ class_id: number }>(sql`
    INSERT INTO annotation_set_classes (set_id, class_id, position)
    VALUES (${set.id}, ${cls.id}, (SELECT COALESCE(MAX(position), -1) + 1 FROM annotation_set_classes WHERE set_id = ${set.id}))
    ON CONFLICT DO NOTHING RETURNING class_id`);
  return { id: cls.id, name: cls.name, created: added.length > 0 };
}

async function classInSet(ctx: ServiceCtx, setId: number, classId: number) {
  const [row] = await ctx.db.all<{ position: number }>(sql`SELECT position FROM annotation_set_classes WHERE set_id = ${setId} AND class_id = ${classId}`);
  if (!row) throw notFound();
  return row;
}

/**
 * Renames a class within one set: its links move to the class of the new name (merging into it when the set
 * already has it; an object holding both keeps one), and the old class leaves the set. Objects do not change,
 * so only the target class's counters are recounted (an indexed range of one class).
 */
export async function renameSetClass(ctx: ServiceCtx, setId: number, classId: number, raw: string) {
  const { set } = await writableSet(ctx, setId);
  const { position } = await classInSet(ctx, set.id, classId);
  const target = await ensureClass(ctx, raw);
  if (target.id === classId) return { id: target.id, name: target.name };
  await runBatch(ctx.env.DB, [
    sql`INSERT OR IGNORE INTO annotation_set_classes (set_id, class_id, position) VALUES (${set.id}, ${target.id}, ${position})`,
    sql`DELETE FROM annotation_classes WHERE set_id = ${set.id} AND class_id = ${classId} AND EXISTS (
      SELECT 1 FROM annotation_classes x WHERE x.annotation_id = annotation_classes.annotation_id AND x.class_id = ${target.id}
        AND x.object_id IS annotation_classes.object_id)`,
    sql`UPDATE annotation_classes SET class_id = ${target.id} WHERE set_id = ${set.id} AND class_id = ${classId}`,
    sql`DELETE FROM annotation_set_classes WHERE set_id = ${set.id} AND class_id = ${classId}`,
    sql`UPDATE annotation_set_classes SET
        object_count = (SELECT COUNT(*) FROM annotation_classes ac WHERE ac.set_id = ${set.id} AND ac.class_id = ${target.id} AND ac.object_id IS NOT NULL),
        image_count = (SELECT COUNT(DISTINCT ac.image_id) FROM annotation_classes ac WHERE ac.set_id = ${set.id} AND ac.class_id = ${target.id})
      WHERE set_id = ${set.id} AND class_id = ${target.id}`,
    sql`UPDATE annotation_sets SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ${set.id}`,
  ]);
  return { id: target.id, name: target.name };
}

/**
 * Removes a class from a set: objects lose it, and an object left with no class is deleted (as Remo does).
 * The affected images' share of the counters is taken before and given back after, in one batch.
 */
export async function deleteSetClass(ctx: ServiceCtx, setId: number, classId: number) {
  const { set } = await writableSet(ctx, setId);
  await classInSet(ctx, set.id, classId);
  const images = await ctx.db.all<{ image_id: number }>(sql`
    SELECT DISTINCT image_id FROM annotation_classes WHERE set_id = ${set.id} AND class_id = ${classId}`);
  const ids = JSON.stringify(images.map((r) => r.image_id));
  await runBatch(ctx.env.DB, [
    ...imageShareStatements(set.id, ids, -1),
    sql`DELETE FROM annotation_objects WHERE id IN (
        SELECT object_id FROM annotation_classes WHERE set_id = ${set.id} AND class_id = ${classId} AND object_id IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM annotation_classes x WHERE x.object_id = annotation_objects.id AND x.class_id <> ${classId})`,
    sql`DELETE FROM annotation_classes WHERE set_id = ${set.id} AND class_id = ${classId}`,
    sql`DELETE FROM annotation_set_classes WHERE set_id = ${set.id} AND class_id = ${classId}`,
    ...imageShareStatements(set.id, ids, 1),
    sql`UPDATE annotation_sets SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ${set.id}`,
  ]);
}
