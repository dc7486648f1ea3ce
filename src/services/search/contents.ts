import { sql, type SQL } from "drizzle-orm";
import { images } from "../../db/schema";
import { imageUrls } from "../../lib/image-urls";
import type { PageQuery } from "../../lib/pagination";
import type { ServiceCtx } from "../context";
import { folderImageCountSql, type FolderRow } from "../folders";
import { assembleContentsAnnotations, contentsAnnotationQueries } from "../annotations/image-annotations";
import { runBatch } from "../../lib/d1";
import { notFound } from "../../lib/errors";

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
    ctx.db.all<{ folderId: number; n: number }>(sql`
      SELECT folder_id AS folderId, image_count AS n FROM folder_image_counts
      WHERE dataset_id = ${rows[0].datasetId} AND folder_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`),
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

type RawImage = Record<string, unknown> & { id: number };

function imageFromRaw(r: RawImage): ImageRow {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    folderId: r.folder_id,
    originalName: r.original_name,
    sha256: r.sha256,
    r2Key: r.r2_key,
    linked: !!r.linked,
    mime: r.mime,
    size: r.size,
    width: r.width,
    height: r.height,
    uploadSessionId: r.upload_session_id,
    pyramidStatus: r.pyramid_status,
    pyramidLevels: r.pyramid_levels,
    createdAt: r.created_at,
  } as ImageRow;
}

type RawFolder = { id: number; dataset_id: number; parent_id: number | null; name: string; created_at: string; updated_at: string };

/** Where the images of one contents page are, and how many items the folder holds. */
export interface ContentsPage {
  /** Child folders of the folder (they come first in the listing). */
  folderCount: number;
  /** Images directly in the folder. */
  imageCount: number;
  /** The ids of the images on the page, ascending: the folder's images from `max(0, offset - folderCount)`. */
  imageIds: number[];
}

/**
 * Finds a contents page's images without SQLite's `OFFSET` walk over the folder's index entries. Only a
 * DatasetStore has one (src/dataset-store/contents-pages.ts): it is the only writer of its dataset's rows, so it can
 * keep a folder's image ids in memory and know when they change (`folder_image_counts.version`).
 */
export interface ContentsPager {
  /** The page at `offset` (over folders, then images) of at most `limit` items in folder `folderId` (null: root). */
  contentsPage(datasetId: number, folderId: number | null, offset: number, limit: number): ContentsPage;
}

/**
 * Folders first, then images, of the dataset root or one folder; one offset runs over both (remo-reference §2.10).
 * Everything but the folders' own previews comes from one D1 batch (round trips to D1, not the indexed SQL, are the
 * cost). The image count comes from `folder_image_counts` (kept by triggers), not a `COUNT(*)`. In D1 the image
 * page's LIMIT/OFFSET are computed in SQL from the folder count, and the annotations are keyed by that page query;
 * inside a DatasetStore, `env.CONTENTS_PAGER` hands the page's ids over instead, so no statement walks `OFFSET`.
 * @throws notFound for a dataset the user may not read, or a folder not in it.
 */
export async function listContents(ctx: ServiceCtx, datasetId: number, folderId: number | null, page: PageQuery) {
  const folderWhere = folderId === null ? sql`dataset_id = ${datasetId} AND parent_id IS NULL` : sql`dataset_id = ${datasetId} AND parent_id = ${folderId}`;
  const imageWhere = folderId === null ? sql`dataset_id = ${datasetId} AND folder_id IS NULL` : sql`dataset_id = ${datasetId} AND folder_id = ${folderId}`;
  const paged = ctx.env.CONTENTS_PAGER?.contentsPage(datasetId, folderId, page.offset, page.limit);
  let counts: SQL, imagePage: SQL, pageIds: SQL;
  if (paged) {
    const ids = JSON.stringify(paged.imageIds);
    counts = sql`SELECT ${paged.folderCount} AS nf, ${paged.imageCount} AS ni`;
    pageIds = sql`(SELECT value FROM json_each(${ids}))`;
    imagePage = sql`SELECT * FROM images WHERE id IN ${pageIds} AND ${imageWhere} ORDER BY id`;
  } else {
    const nf = sql`(SELECT COUNT(*) FROM folders WHERE ${folderWhere})`;
    counts = sql`SELECT ${nf} AS nf, ${folderImageCountSql(datasetId, folderId)} AS ni`;
    imagePage = sql`SELECT * FROM images WHERE ${imageWhere} ORDER BY id
      LIMIT (${page.limit} - MAX(0, MIN(${page.limit}, ${nf} - ${page.offset}))) OFFSET MAX(0, ${page.offset} - ${nf})`;
    pageIds = sql`(SELECT id FROM (${imagePage}))`;
  }
  const res = await runBatch(ctx.env.DB, [
    sql`SELECT owner_id, is_public,
      ${folderId === null ? sql`1` : sql`EXISTS (SELECT 1 FROM folders WHERE id = ${folderId} AND dataset_id = ${datasetId})`} AS folder_ok
      FROM datasets WHERE id = ${datasetId}`,
    counts,
    sql`SELECT * FROM folders WHERE ${folderWhere} ORDER BY id LIMIT ${page.limit} OFFSET ${page.offset}`,
    imagePage,
    ...contentsAnnotationQueries(datasetId, pageIds),
  ]);
  const d = res[0].results[0] as { owner_id: number; is_public: number; folder_ok: number } | undefined;
  if (!d || (d.owner_id !== ctx.user.id && !d.is_public) || !d.folder_ok) throw notFound();
  const { nf: folderCount, ni } = res[1].results[0] as { nf: number; ni: number };
  const folderRows: FolderRow[] = (res[2].results as RawFolder[]).map((f) => ({
    id: f.id,
    datasetId: f.dataset_id,
    parentId: f.parent_id,
    name: f.name,
    createdAt: f.created_at,
    updatedAt: f.updated_at,
  }));
  const imageRows = (res[3].results as RawImage[]).map(imageFromRaw);
  const ids = imageRows.map((i) => i.id);
  const annotations = assembleContentsAnnotations(ids, [res[4].results, res[5].results, res[6].results, res[7].results] as Parameters<typeof assembleContentsAnnotations>[1]);
  const [folderItems, imageItems] = await Promise.all([
    serializeFolders(ctx, folderRows),
    Promise.all(imageRows.map((i) => serializeContentsImage(ctx, i, annotations.get(i.id) ?? []))),
  ]);
  return {
    count: folderCount + ni,
    results: [
      ...folderItems.map((folder) => ({ record_type: "folder" as const, folder, image: null })),
      ...imageItems.map((image) => ({ record_type: "image" as const, folder: null, image })),
    ],
  };
}
