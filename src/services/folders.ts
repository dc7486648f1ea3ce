import { withImageIds } from "./ingest/image-ingest";
import { forgetImageAccess } from "./images/access";
import { and, eq, sql } from "drizzle-orm";
import { folders, images } from "../db/schema";
import { badRequest, conflict, notFound } from "../lib/errors";
import { writableDataset } from "./access";
import type { ServiceCtx } from "./context";
import { deleteImagesStatements } from "./images/images";
import { runBatch } from "../lib/d1";

export type FolderRow = typeof folders.$inferSelect;

export async function folderInDataset(ctx: ServiceCtx, datasetId: number, folderId: number): Promise<FolderRow> {
  const [f] = await ctx.db
    .select()
    .from(folders)
    .where(and(eq(folders.id, folderId), eq(folders.datasetId, datasetId)))
    .limit(1);
  if (!f) throw notFound(`Folder #${folderId} was not found in Dataset #${datasetId}.`);
  return f;
}

/**
 * The number of images directly in folder `folderId` of the dataset (null: its root), as a scalar subquery: read from
 * `folder_image_counts`, which SQLite's triggers keep (migrations/0006), never counted over the folder's images.
 */
export function folderImageCountSql(datasetId: number, folderId: number | null) {
  return sql`coalesce((SELECT image_count FROM folder_image_counts WHERE dataset_id = ${datasetId} AND folder_id = ${folderId ?? 0}), 0)`;
}

/** Folder ids of the subtree rooted at `folderId` (itself included). */
function subtreeSql(folderId: number) {
  return sql`WITH RECURSIVE sub(id) AS (SELECT ${folderId} UNION ALL SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id) SELECT id FROM sub`;
}

export async function createFolder(ctx: ServiceCtx, datasetId: number, input: { name: string; parent_folder_id?: number | null }) {
  const d = await writableDataset(ctx, datasetId);
  const parentId = input.parent_folder_id ?? null;
  if (parentId !== null) await folderInDataset(ctx, d.id, parentId);
  const insert = async (id?: number) =>
    (await ctx.db.insert(folders).values({ id, datasetId: d.id, parentId, name: input.name.trim() }).returning())[0];
  // In a DatasetStore, a folder's id comes from the dataset's id block as an image's does, so a folder id still
  // names one folder across datasets (a folder of another dataset stays a 404 here, as in D1).
  if (ctx.env.DATASET_STORE_ID) return withImageIds(ctx.env, d.id, 1, ([id]) => insert(id), "folders");
  return insert();
}

export async function updateFolder(
  ctx: ServiceCtx,
  datasetId: number,
  folderId: number,
  input: { name?: string; parent_folder_id?: number | null },
) {
  const d = await writableDataset(ctx, datasetId);
  const f = await folderInDataset(ctx, d.id, folderId);
  const values: Partial<typeof folders.$inferInsert> = { updatedAt: new Date().toISOString() };
  if (input.name !== undefined) values.name = input.name.trim();
  if (input.parent_folder_id !== undefined) {
    const parent = input.parent_folder_id;
    if (parent !== null) {
      await folderInDataset(ctx, d.id, parent);
      const sub = await ctx.db.all<{ id: number }>(subtreeSql(f.id));
      if (sub.some((r) => r.id === parent)) throw badRequest("parent_folder_id: a folder cannot move into itself or its own subfolder");
    }
    values.parentId = parent;
  }
  const [row] = await ctx.db.update(folders).set(values).where(eq(folders.id, f.id)).returning();
  return row;
}

/** Refuses a non-empty folder (409) unless `recursive`, which deletes its subfolders and their images too. */
export async function deleteFolder(ctx: ServiceCtx, datasetId: number, folderId: number, recursive: boolean) {
  const d = await writableDataset(ctx, datasetId);
  const f = await folderInDataset(ctx, d.id, folderId);
  if (!recursive) {
    const [[sub], [img]] = await Promise.all([
      ctx.db.select({ n: sql<number>`count(*)` }).from(folders).where(eq(folders.parentId, f.id)),
      ctx.db.all<{ n: number }>(sql`SELECT ${folderImageCountSql(d.id, f.id)} AS n`),
    ]);
    if (sub.n > 0 || img.n > 0) {
      throw conflict(`Folder #${f.id} is not empty (${sub.n} folders, ${img.n} images); pass recursive=true to delete it with its contents.`);
    }
  }
  const inSubtree = sql`${images.folderId} IN (${subtreeSql(f.id)})`;
  const stmts = await deleteImagesStatements(ctx, d.id, inSubtree);
  // The images' statements run first: deleting the folder cascades to its images before they could be counted.
  await runBatch(ctx.env.DB, [...stmts, ctx.db.delete(folders).where(eq(folders.id, f.id))]);
  forgetImageAccess();
}

export function serializeFolderRow(f: FolderRow) {
  return {
    id: f.id,
    name: f.name,
    dataset_id: f.datasetId,
    parent_folder_id: f.parentId,
    created_at: f.createdAt,
    updated_at: f.updatedAt,
  };
}
