import { forgetImageAccess } from "./access";
import { and, asc, eq, gt, sql } from "drizzle-orm";
import { images } from "../../db/schema";
import { runBatch } from "../../lib/d1";
import { ApiError } from "../../lib/errors";
import { imageUrls } from "../../lib/image-urls";
import type { PageQuery } from "../../lib/pagination";
import { readableDataset, writableDataset } from "../access";
import type { ImageRow } from "../search/contents";
import type { ServiceCtx } from "../context";
import { imageDetailAnnotations } from "../annotations/image-annotations";
import { deleteImagesStatements } from "./images";
import { statusName } from "../annotations/save";

/** The SDK's Image object (remo-reference §2.4). */
export async function sdkImage(ctx: ServiceCtx, img: ImageRow) {
  return {
    id: img.id,
    name: img.originalName,
    dataset_id: img.datasetId,
    url: (await imageUrls(ctx.env, img)).url,
    path: img.linked ? img.r2Key : null,
    size: img.size,
    width: img.width,
    height: img.height,
    upload_date: img.createdAt,
  };
}

/** `GET /api/v1/ui/datasets/{id}/images/`: ShortDatasetImageSerializer items. */
export async function listDatasetImagesShort(ctx: ServiceCtx, datasetId: number, page: PageQuery) {
  const d = await readableDataset(ctx, datasetId);
  const rows = await ctx.db.all<{ id: number; original_name: string; n: number }>(sql`
    SELECT i.id, i.original_name, (SELECT COUNT(*) FROM annotations a WHERE a.image_id = i.id) AS n
    FROM images i WHERE i.dataset_id = ${d.id} ORDER BY i.id LIMIT ${page.limit} OFFSET ${page.offset}`);
  const results = await Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      name: r.original_name,
      thumbnail: (await imageUrls(ctx.env, { id: r.id, originalName: r.original_name })).thumbnail,
      annotates_count: r.n,
    })),
  );
  return { count: d.imageCount, results };
}

async function imageInDataset(ctx: ServiceCtx, datasetId: number, imageId: number): Promise<ImageRow> {
  const [img] = await ctx.db.select().from(images).where(and(eq(images.id, imageId), eq(images.datasetId, datasetId))).limit(1);
  if (!img) throw new ApiError("NOT_FOUND", "Not found.");
  return img;
}

/** The full DatasetImageSerializer: URLs, dataset, sizes, first status and one annotation entry per set. */
export async function datasetImageDetail(ctx: ServiceCtx, datasetId: number, imageId: number) {
  const d = await readableDataset(ctx, datasetId);
  const img = await imageInDataset(ctx, d.id, imageId);
  const [urls, annotations, first] = await Promise.all([
    imageUrls(ctx.env, img),
    imageDetailAnnotations(ctx.db, d.id, img.id),
    ctx.db.all<{ status: number }>(sql`SELECT status FROM annotations WHERE image_id = ${img.id} ORDER BY id LIMIT 1`),
  ]);
  return {
    id: img.id,
    original: urls.url,
    image: urls.url,
    view: urls.view,
    name: img.originalName,
    dataset: { id: d.id, name: d.name, created_at: d.createdAt, is_public: d.isPublic },
    dimensions: [img.width, img.height],
    view_dimensions: [img.width, img.height],
    image_dimensions: [img.width, img.height],
    status: statusName(first[0]?.status),
    annotations,
  };
}

const PAGE = 500;

/**
 * The SDK list: paginated with `limit`, else every image. The full list is streamed page by page (by id), so
 * a dataset of any size never sits in the Worker's memory.
 */
export async function sdkImagesStream(ctx: ServiceCtx, datasetId: number): Promise<ReadableStream<Uint8Array>> {
  const d = await readableDataset(ctx, datasetId).catch(() => {
    throw new ApiError("NOT_FOUND", `Dataset with id: ${datasetId}, was not found.`);
  });
  const enc = new TextEncoder();
  let after = 0;
  let first = true;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(enc.encode(`{"count":${d.imageCount},"results":[`));
      }
      const rows = await ctx.db.select().from(images).where(and(eq(images.datasetId, d.id), gt(images.id, after))).orderBy(asc(images.id)).limit(PAGE);
      if (!rows.length) {
        controller.enqueue(enc.encode("]}"));
        controller.close();
        return;
      }
      after = rows[rows.length - 1].id;
      const items = await Promise.all(rows.map((r) => sdkImage(ctx, r)));
      const text = items.map((i) => JSON.stringify(i)).join(",");
      controller.enqueue(enc.encode((first ? "" : ",") + text));
      first = false;
    },
  });
}

export async function sdkImagesPage(ctx: ServiceCtx, datasetId: number, page: PageQuery) {
  const d = await readableDataset(ctx, datasetId).catch(() => {
    throw new ApiError("NOT_FOUND", `Dataset with id: ${datasetId}, was not found.`);
  });
  const rows = await ctx.db.select().from(images).where(eq(images.datasetId, d.id)).orderBy(asc(images.id)).limit(page.limit).offset(page.offset);
  return { count: d.imageCount, results: await Promise.all(rows.map((r) => sdkImage(ctx, r))) };
}

/** `GET /api/v1/sdk/images/{id}/`: Remo's 404 text for a missing or invisible image. */
export async function sdkImageById(ctx: ServiceCtx, imageId: number) {
  const missing = () => new ApiError("NOT_FOUND", `Image with id: ${imageId}, was not found.`);
  const [img] = await ctx.db.select().from(images).where(eq(images.id, imageId)).limit(1);
  if (!img) throw missing();
  await readableDataset(ctx, img.datasetId).catch(() => {
    throw missing();
  });
  return sdkImage(ctx, img);
}

/** Native delete of one image: rows, counters and set statistics in one batch; bytes swept later if unused. */
export async function deleteImage(ctx: ServiceCtx, imageId: number) {
  const [img] = await ctx.db.select({ id: images.id, datasetId: images.datasetId }).from(images).where(eq(images.id, imageId)).limit(1);
  if (!img) throw new ApiError("NOT_FOUND", "Not found.");
  await writableDataset(ctx, img.datasetId);
  await runBatch(ctx.env.DB, await deleteImagesStatements(ctx, img.datasetId, eq(images.id, img.id)));
  forgetImageAccess();
}
