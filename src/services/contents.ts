import { and, asc, count, eq, inArray, isNull, sql } from "drizzle-orm";
import { folders, images } from "../db/schema";
import { imageUrls } from "../lib/image-urls";
import type { PageQuery } from "../lib/pagination";
import { readableDataset } from "./access";
import type { ServiceCtx } from "./context";
import { folderInDataset, type FolderRow } from "./folders";
import { contentsAnnotations } from "./image-annotations";

export type ImageRow = typeof images.$inferSelect;

/** The image of a contents item (remo-reference §2.10). */
export async function serializeContentsImage(ctx: ServiceCtx, img: ImageRow, annotations: unknown[]) {
  const urls = await imageUrls(ctx.env, img);
  return {
    id: img.id,
    name: img.originalName,
    view: urls.view,
    preview: urls.preview,
    url: urls.url,
    annotations,
    dimensions: [img.width, img.height],
    size_in_bytes: img.size,
    created_at: img.createdAt,
  };
}

async function serializeFolders(ctx: ServiceCtx, rows: FolderRow[]) {
  if (!rows.length) return [];
  const ids = rows.map((f) => f.id);
  const [counts, firsts] = await Promise.all([
    ctx.db
      .select({ folderId: images.folderId, n: count() })
      .from(images)
      .where(inArray(images.folderId, sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`))
      .groupBy(images.folderId),
    ctx.db.all<{ folder_id: number; id: number; original_name: string }>(sql`
      SELECT i.folder_id, i.id, i.original_name FROM json_each(${JSON.stringify(ids)}) f
      JOIN images i ON i.id = (SELECT id FROM images WHERE dataset_id = ${rows[0].datasetId} AND folder_id = f.value ORDER BY id LIMIT 1)`),
  ]);
  const n = new Map(counts.map((c) => [c.folderId, c.n]));
  const first = new Map(firsts.map((r) => [r.folder_id, r]));
  return Promise.all(
    rows.map(async (f) => {
      const img = first.get(f.id);
      return {
        id: f.id,
        name: f.name,
        dataset_id: f.datasetId,
        parent_folder_id: f.parentId,
        updated_at: f.updatedAt,
        created_at: f.createdAt,
        preview: img ? (await imageUrls(ctx.env, { id: img.id, originalName: img.original_name })).preview : null,
        total_images: n.get(f.id) ?? 0,
        top3_classes: [] as { name: string; count: number }[],
        total_classes: 0,
      };
    }),
  );
}

/** Folders first, then images, of the dataset root or one folder; one offset runs over both. */
export async function listContents(ctx: ServiceCtx, datasetId: number, folderId: number | null, page: PageQuery) {
  const d = await readableDataset(ctx, datasetId);
  if (folderId !== null) await folderInDataset(ctx, d.id, folderId);
  const folderWhere = and(eq(folders.datasetId, d.id), folderId === null ? isNull(folders.parentId) : eq(folders.parentId, folderId));
  const imageWhere = and(eq(images.datasetId, d.id), folderId === null ? isNull(images.folderId) : eq(images.folderId, folderId));
  const [[{ nf }], [{ ni }]] = await Promise.all([
    ctx.db.select({ nf: count() }).from(folders).where(folderWhere),
    ctx.db.select({ ni: count() }).from(images).where(imageWhere),
  ]);
  const folderRows =
    page.offset < nf
      ? await ctx.db.select().from(folders).where(folderWhere).orderBy(asc(folders.id)).limit(page.limit).offset(page.offset)
      : [];
  const imageLimit = page.limit - folderRows.length;
  const imageOffset = Math.max(0, page.offset - nf);
  const imageRows =
    imageLimit > 0 ? await ctx.db.select().from(images).where(imageWhere).orderBy(asc(images.id)).limit(imageLimit).offset(imageOffset) : [];
  const [folderItems, annotations] = await Promise.all([
    serializeFolders(ctx, folderRows),
    contentsAnnotations(ctx.db, d.id, imageRows.map((i) => i.id)),
  ]);
  const imageItems = await Promise.all(imageRows.map((i) => serializeContentsImage(ctx, i, annotations.get(i.id) ?? [])));
  return {
    count: nf + ni,
    results: [
      ...folderItems.map((folder) => ({ record_type: "folder" as const, folder, image: null })),
      ...imageItems.map((image) => ({ record_type: "image" as const, folder: null, image })),
    ],
  };
}
