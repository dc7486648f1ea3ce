import { sql } from "drizzle-orm";
import { runBatch } from "../../lib/d1";
import { ApiError, notFound } from "../../lib/errors";
import { normalizeTagName } from "../../lib/names";
import type { PageQuery } from "../../lib/pagination";
import type { AnnotationSetRow } from "./sets";
import type { ImageRef } from "./save";
import type { ServiceCtx } from "../context";
import { imageShareStatements } from "./statistics";

const emptyName = () => new ApiError("BAD_REQUEST", "Tag name should not be empty", { issues: [{ path: "name", message: "must not be empty" }] });

async function ensureTag(ctx: ServiceCtx, name: string): Promise<number> {
  await ctx.db.run(sql`INSERT OR IGNORE INTO tags (name) VALUES (${name})`);
  const [row] = await ctx.db.all<{ id: number }>(sql`SELECT id FROM tags WHERE name = ${name}`);
  return row.id;
}

export async function listImageTags(ctx: ServiceCtx, set: AnnotationSetRow, img: ImageRef, page: PageQuery) {
  const [[{ n }], rows] = await Promise.all([
    ctx.db.all<{ n: number }>(sql`SELECT COUNT(*) AS n FROM image_tags WHERE set_id = ${set.id} AND image_id = ${img.id}`),
    ctx.db.all<{ id: number; name: string }>(sql`
      SELECT t.id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.set_id = ${set.id} AND it.image_id = ${img.id}
      ORDER BY t.id LIMIT ${page.limit} OFFSET ${page.offset}`),
  ]);
  return { count: n, results: rows.map((r) => ({ id: r.id, name: r.name, annotation_set: set.id, image: img.id })) };
}

/**
 * Tags an image in a set (name stripped and lower-cased; the annotation row is created if missing). `created`
 * is false when the image already had the tag (Remo's 200 vs 201).
 */
export async function addImageTag(ctx: ServiceCtx, set: AnnotationSetRow, img: ImageRef, raw: string) {
  const name = normalizeTagName(raw);
  if (!name) throw emptyName();
  const tagId = await ensureTag(ctx, name);
  const ids = JSON.stringify([img.id]);
  const res = await runBatch(ctx.env.DB, [
    ...imageShareStatements(set.id, ids, -1),
    sql`INSERT OR IGNORE INTO annotations (set_id, image_id) VALUES (${set.id}, ${img.id})`,
    sql`INSERT OR IGNORE INTO image_tags (set_id, image_id, tag_id) VALUES (${set.id}, ${img.id}, ${tagId})`,
    ...imageShareStatements(set.id, ids, 1),
  ]);
  const created = (res[imageShareStatements(set.id, ids, -1).length + 1].meta.changes ?? 0) > 0;
  return { id: tagId, name, annotation_set: set.id, image: img.id, created };
}

export async function removeImageTag(ctx: ServiceCtx, set: AnnotationSetRow, img: ImageRef, tagId: number) {
  const ids = JSON.stringify([img.id]);
  await runBatch(ctx.env.DB, [
    ...imageShareStatements(set.id, ids, -1),
    sql`DELETE FROM image_tags WHERE set_id = ${set.id} AND image_id = ${img.id} AND tag_id = ${tagId}`,
    ...imageShareStatements(set.id, ids, 1),
  ]);
}

/** The tag `tagId` if set `setId` uses it, read where the set's tag list is (`set_tag_counts`); 404 otherwise. */
async function tagInSet(ctx: ServiceCtx, setId: number, tagId: number) {
  const [row] = await ctx.db.all<{ id: number; name: string }>(sql`
    SELECT t.id, t.name FROM set_tag_counts st JOIN tags t ON t.id = st.tag_id WHERE st.set_id = ${setId} AND st.tag_id = ${tagId}`);
  if (!row) throw notFound();
  return row;
}

/** Renames a tag within a set, merging into the tag of that name (not lower-cased here, as Remo). */
export async function renameSetTag(ctx: ServiceCtx, set: AnnotationSetRow, tagId: number, raw: string) {
  await tagInSet(ctx, set.id, tagId);
  const name = raw.trim();
  if (!name) throw emptyName();
  const target = await ensureTag(ctx, name);
  if (target !== tagId) {
    // Images keep a tag either way, so no counter moves.
    await runBatch(ctx.env.DB, [
      sql`INSERT OR IGNORE INTO image_tags (set_id, image_id, tag_id) SELECT set_id, image_id, ${target} FROM image_tags WHERE set_id = ${set.id} AND tag_id = ${tagId}`,
      sql`DELETE FROM image_tags WHERE set_id = ${set.id} AND tag_id = ${tagId}`,
    ]);
  }
  return { id: target, name };
}

export async function deleteSetTag(ctx: ServiceCtx, set: AnnotationSetRow, tagId: number) {
  await tagInSet(ctx, set.id, tagId);
  const images = await ctx.db.all<{ image_id: number }>(sql`SELECT image_id FROM image_tags WHERE set_id = ${set.id} AND tag_id = ${tagId}`);
  const ids = JSON.stringify(images.map((r) => r.image_id));
  await runBatch(ctx.env.DB, [
    ...imageShareStatements(set.id, ids, -1),
    sql`DELETE FROM image_tags WHERE set_id = ${set.id} AND tag_id = ${tagId}`,
    ...imageShareStatements(set.id, ids, 1),
  ]);
}
