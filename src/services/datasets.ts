import { forgetImageAccess } from "./images/access";
import { blobCandidateStatements } from "./images/images";
import { and, asc, count, eq, or, sql, type SQL } from "drizzle-orm";
import { annotationSets, blobGc, datasets, images, users } from "../db/schema";
import { isUniqueViolation, nameOrSuffixed, runBatch } from "../lib/d1";
import { nextFreeName } from "../lib/names";
import { conflict } from "../lib/errors";
import { imageUrls } from "../lib/image-urls";
import type { PageQuery } from "../lib/pagination";
import { taskName, type TaskType } from "../lib/task";
import { createsInStore, destroyDatasetStore, provisionNewStore } from "../dataset-store/lifecycle";
import { STORE_FAN_OUT, mapBounded, movedDatasets } from "../dataset-store/fan-out";
import { datasetStore } from "../dataset-store/store";
import { enqueue } from "../storage/queues";
import { readableDataset, writableDataset, type DatasetRow } from "./access";
import type { ServiceCtx } from "./context";
import { topClassesByDataset, type ClassCount } from "./annotations/statistics";

/** Remo's Dataset.rename(): `Name`, then `Name (N)` with N one past the largest N in use by this owner. */
export async function uniqueDatasetName(ctx: ServiceCtx, name: string): Promise<string> {
  const rows = await ctx.db
    .select({ name: datasets.name })
    .from(datasets)
    .where(and(eq(datasets.ownerId, ctx.user.id), nameOrSuffixed(datasets.name, name)));
  return nextFreeName(name, rows.map((r) => r.name));
}

export async function createDataset(
  ctx: ServiceCtx,
  input: { name?: string; is_public?: boolean; license?: string | null },
): Promise<DatasetRow> {
  const base = input.name?.trim() || "Dataset";
  const inObject = createsInStore(ctx.env);
  // Two concurrent creates can pick the same suffix; the unique index catches it and we pick again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const name = await uniqueDatasetName(ctx, base);
    try {
      const [row] = await ctx.db
        .insert(datasets)
        .values({
          ownerId: ctx.user.id,
          name,
          isPublic: input.is_public ?? false,
          license: input.license ?? null,
          // Frozen until its object holds it: meanwhile reads are served (empty) from D1 and writes wait (503).
          store: inObject ? "frozen" : "d1",
        })
        .returning();
      if (inObject) {
        await provisionNewStore(ctx.env, row.id);
        row.store = "object";
      }
      return row;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
  }
  throw conflict(`Could not find a free name for dataset '${base}'.`);
}

export interface DatasetFilters {
  isPublic?: boolean;
  isArchived?: boolean;
}

/** The caller's datasets and every public one, by id. */
export async function listDatasets(ctx: ServiceCtx, filters: DatasetFilters, page: PageQuery) {
  const conds: SQL[] = [or(eq(datasets.ownerId, ctx.user.id), eq(datasets.isPublic, true))!];
  if (filters.isPublic !== undefined) conds.push(eq(datasets.isPublic, filters.isPublic));
  if (filters.isArchived !== undefined) conds.push(eq(datasets.isArchived, filters.isArchived));
  const where = and(...conds);
  // Not db.batch(): drizzle's D1 batch maps joined rows by column name, and datasets.name / users.name collide.
  const [[{ total }], rows] = await Promise.all([
    ctx.db.select({ total: count() }).from(datasets).where(where),
    ctx.db
      .select({ dataset: datasets, ownerName: users.name, ownerEmail: users.email })
      .from(datasets)
      .innerJoin(users, eq(users.id, datasets.ownerId))
      .where(where)
      .orderBy(asc(datasets.id))
      .limit(page.limit)
      .offset(page.offset),
  ]);
  return { count: total, rows };
}

export interface FirstImage {
  id: number;
  originalName: string;
  width: number;
  height: number;
  size: number;
  createdAt: string;
  datasetId: number;
}

/**
 * Up to `n` first images of each dataset, in one query (json_each keeps it to one bound parameter); a dataset
 * moved to its DatasetStore is read there (one RPC each, a few at a time).
 */
export async function firstImages(ctx: ServiceCtx, datasetIds: number[], n = 4) {
  return (await listSummaries(ctx, datasetIds, { n, top: false })).thumbs;
}

/**
 * What a dataset list shows beyond the registry rows: each dataset's first `n` images and, with `top`, its classes
 * by object count. Datasets still in D1 are read in one query each; a dataset moved to its DatasetStore answers
 * both in one RPC (`listSummary`), a few at a time.
 */
async function listSummaries(ctx: ServiceCtx, datasetIds: number[], opts: { n: number; top: boolean }) {
  const thumbs = new Map<number, FirstImage[]>();
  const top = new Map<number, ClassCount[]>();
  if (!datasetIds.length) return { thumbs, top };
  const moved = [...(await movedDatasets(ctx.env, datasetIds))];
  const inD1 = datasetIds.filter((id) => !moved.includes(id));
  const [summaries, d1Top] = await Promise.all([
    mapBounded(moved, STORE_FAN_OUT, (id) => datasetStore(ctx.env, id).listSummary(id, opts.n)),
    opts.top ? topClassesByDataset(ctx.db, inD1) : new Map<number, ClassCount[]>(),
    firstImagesInDb(ctx, inD1, opts.n, thumbs),
  ]);
  for (const [id, list] of d1Top) top.set(id, list);
  moved.forEach((id, i) => {
    if (summaries[i].thumbs.length) thumbs.set(id, summaries[i].thumbs);
    if (opts.top && summaries[i].top.length) top.set(id, summaries[i].top);
  });
  return { thumbs, top };
}

/** firstImages over the rows `ctx.db` holds, added to `out`. */
async function firstImagesInDb(ctx: ServiceCtx, datasetIds: number[], n: number, out: Map<number, FirstImage[]>) {
  if (!datasetIds.length) return;
  const rows = await ctx.db.all<{ id: number; dataset_id: number; original_name: string; width: number; height: number; size: number; created_at: string }>(sql`
    SELECT i.id, i.dataset_id, i.original_name, i.width, i.height, i.size, i.created_at
    FROM json_each(${JSON.stringify(datasetIds)}) d
    JOIN images i ON i.id IN (SELECT id FROM images WHERE dataset_id = d.value ORDER BY id LIMIT ${n})
    ORDER BY i.dataset_id, i.id`);
  for (const r of rows) {
    const list = out.get(r.dataset_id) ?? [];
    list.push({ id: r.id, datasetId: r.dataset_id, originalName: r.original_name, width: r.width, height: r.height, size: r.size, createdAt: r.created_at });
    out.set(r.dataset_id, list);
  }
}

export function ownerName(u: { ownerName: string; ownerEmail: string }) {
  return u.ownerName || "Unknown";
}

/** The v1 list item (remo-reference §2.1). */
export async function serializeDatasetItem(
  ctx: ServiceCtx,
  d: DatasetRow,
  owner: string,
  thumbs: { id: number; originalName: string }[],
) {
  return {
    id: d.id,
    name: d.name,
    owner,
    is_archived: d.isArchived,
    image_thumbnails: await Promise.all(thumbs.map(async (t) => (await imageUrls(ctx.env, t)).preview)),
    quantity: d.imageCount,
    size_in_bytes: d.sizeInBytes,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    license: d.license,
    is_public: d.isPublic,
    is_readonly: false,
  };
}

export async function listDatasetItems(ctx: ServiceCtx, filters: DatasetFilters, page: PageQuery) {
  const { count: total, rows } = await listDatasets(ctx, filters, page);
  const thumbs = await firstImages(ctx, rows.map((r) => r.dataset.id));
  const results = await Promise.all(
    rows.map((r) => serializeDatasetItem(ctx, r.dataset, ownerName(r), thumbs.get(r.dataset.id) ?? [])),
  );
  return { count: total, results };
}

/** The legacy `/api/dataset/` list (ListDatasetSerializer): thumbnails are full image objects. */
export async function listLegacyDatasetItems(ctx: ServiceCtx, page: PageQuery) {
  const { count: total, rows } = await listDatasets(ctx, { isArchived: false }, page);
  const ids = rows.map((r) => r.dataset.id);
  const { thumbs, top } = await listSummaries(ctx, ids, { n: 4, top: true });
  const results = await Promise.all(
    rows.map(async ({ dataset: d }) => ({
      id: d.id,
      name: d.name,
      image_thumbnails: await Promise.all(
        (thumbs.get(d.id) ?? []).map(async (t) => {
          const urls = await imageUrls(ctx.env, t);
          return { id: t.id, name: t.originalName, dataset_id: t.datasetId, url: urls.url, preview: urls.preview, thumbnail: urls.thumbnail, width: t.width, height: t.height, size: t.size, created_at: t.createdAt };
        }),
      ),
      quantity: d.imageCount,
      size_in_bytes: d.sizeInBytes,
      created_at: d.createdAt,
      license: d.license,
      is_public: d.isPublic,
      users_shared: [] as number[],
      top3_classes: (top.get(d.id) ?? []).slice(0, 3),
      total_classes: (top.get(d.id) ?? []).length,
    })),
  );
  return { count: total, results };
}

/** The detail / create serializer: the list item plus its annotation sets and class summary. */
export async function datasetDetail(ctx: ServiceCtx, d: DatasetRow) {
  const [[owner], sets, thumbs, top] = await Promise.all([
    ctx.db.select({ ownerName: users.name, ownerEmail: users.email }).from(users).where(eq(users.id, d.ownerId)),
    ctx.db
      .select({ id: annotationSets.id, name: annotationSets.name, task: annotationSets.task, totalObjects: annotationSets.totalObjects })
      .from(annotationSets)
      .where(eq(annotationSets.datasetId, d.id))
      .orderBy(asc(annotationSets.id)),
    firstImages(ctx, [d.id]),
    topClassesByDataset(ctx.db, [d.id]),
  ]);
  const item = await serializeDatasetItem(ctx, d, owner ? ownerName(owner) : "Unknown", thumbs.get(d.id) ?? []);
  const classes = top.get(d.id) ?? [];
  return {
    ...item,
    annotation_sets: sets.map((s) => ({ id: s.id, name: s.name, task: taskName(s.task as TaskType) })),
    users_shared: [] as number[],
    top3_classes: classes.slice(0, 3),
    total_classes: classes.length,
    total_annotation_objects: sets.reduce((a, s) => a + s.totalObjects, 0),
  };
}

export async function getDataset(ctx: ServiceCtx, id: number) {
  return datasetDetail(ctx, await readableDataset(ctx, id));
}

export async function updateDataset(
  ctx: ServiceCtx,
  id: number,
  patch: { name?: string; is_archived?: boolean; is_public?: boolean; license?: string | null },
) {
  const d = await writableDataset(ctx, id);
  const values: Partial<typeof datasets.$inferInsert> = { updatedAt: new Date().toISOString() };
  if (patch.name !== undefined) values.name = patch.name.trim();
  if (patch.is_archived !== undefined) values.isArchived = patch.is_archived;
  if (patch.is_public !== undefined) values.isPublic = patch.is_public;
  if (patch.license !== undefined) values.license = patch.license;
  try {
    const [row] = await ctx.db.update(datasets).set(values).where(eq(datasets.id, d.id)).returning();
    if (patch.is_public !== undefined) forgetImageAccess();
    return datasetDetail(ctx, row);
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`You already have a dataset named '${values.name}'.`);
    throw e;
  }
}

/**
 * Deletes the dataset's rows (cascading to folders, images, sets, annotations) and, in the same batch, records
 * the R2 keys of its uploaded originals as GC candidates; the queued sweep deletes those no other image uses.
 * Linked objects (`local_files`) belong to the bucket's owner and are never deleted. The dataset's Durable Object
 * (issue 13) is emptied after the rows are gone.
 */
export async function deleteDataset(ctx: ServiceCtx, id: number): Promise<void> {
  const d = await writableDataset(ctx, id);
  await runBatch(ctx.env.DB, [
    ...(await blobCandidateStatements(ctx, eq(images.datasetId, d.id))),
    ctx.db.delete(datasets).where(eq(datasets.id, d.id)),
  ]);
  forgetImageAccess();
  await enqueue(ctx.env.INGEST, { type: "gc-blobs" });
  await destroyDatasetStore(ctx.env, d.id);
}
