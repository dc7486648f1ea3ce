import { inArray, sql } from "drizzle-orm";
import { images } from "../../db/schema";
import { badRequest, notFound } from "../../lib/errors";
import { imageUrls } from "../../lib/image-urls";
import { serializeContentsImage, type ImageRow } from "./contents";
import type { ServiceCtx } from "../context";
import { assembleContentsAnnotations, contentsAnnotationQueries, contentsAnnotations } from "../annotations/image-annotations";
import { runBatch } from "../../lib/d1";
import { mapBounded, movedDatasets } from "../../dataset-store/fan-out";
import { datasetStore } from "../../dataset-store/store";
import { countQuery, cursorLinks, finishPage, passingEntries, planSearch, runSearch, searchQueries, type SearchRow } from "./search";
import { candidateSets, nameIdQueries, parseFilters, parseSearch, resolveFilters, type CandidateSet, type Filters, type SearchParams } from "./filters";

export async function imageRows(ctx: ServiceCtx, ids: number[]): Promise<Map<number, ImageRow>> {
  if (!ids.length) return new Map();
  const rows = await ctx.db.select().from(images).where(inArray(images.id, sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`));
  return new Map(rows.map((r) => [r.id, r]));
}

type RawImage = { id: number; dataset_id: number; original_name: string; width: number; height: number; size: number; created_at: string };

/** The fields of an image row the contents serializer reads, from a raw batch row. */
function imageFromRaw(r: RawImage): ImageRow {
  return { id: r.id, datasetId: r.dataset_id, originalName: r.original_name, width: r.width, height: r.height, size: r.size, createdAt: r.created_at } as ImageRow;
}

/**
 * The contents route in search mode (remo-reference §6.1): distinct images by id, cursor-paged. Two D1 round
 * trips after auth: (dataset, name ids, sets), then (page, before-cursor probe, count, the page's images and
 * their annotations, all keyed by the page query itself).
 */
export async function searchContents(ctx: ServiceCtx, datasetId: number, q: SearchParams & { limit: number }, requestUrl: string) {
  const parsed = parseSearch(q);
  const [dsRes, clsRes, tagRes, setRes] = await runBatch(ctx.env.DB, [
    sql`SELECT id, owner_id, is_public FROM datasets WHERE id = ${datasetId}`,
    ...nameIdQueries(parsed),
    sql`SELECT id, dataset_id AS datasetId, task FROM annotation_sets WHERE dataset_id = ${datasetId} ORDER BY id`,
  ]);
  const d = dsRes.results[0] as { id: number; owner_id: number; is_public: number } | undefined;
  if (!d || (d.owner_id !== ctx.user.id && !d.is_public)) throw notFound();
  const f = resolveFilters(parsed, clsRes.results as { id: number; name: string }[], tagRes.results as { id: number; name: string }[]);
  const sets = candidateSets(setRes.results as CandidateSet[], f);
  const plan = planSearch(sets, f, [d.id]);
  const queries = searchQueries(plan, f, q.limit, true);
  const count = countQuery(plan, f, sets, true);
  if (!queries || !count) return { count: 0, next: null, previous: null, results: [] };
  const pageIds = sql`(SELECT id FROM (${queries.page}))`;
  const res = await runBatch(ctx.env.DB, [
    queries.page,
    count,
    sql`SELECT id, dataset_id, original_name, width, height, size, created_at FROM images WHERE id IN ${pageIds}`,
    ...contentsAnnotationQueries(d.id, pageIds),
    ...(queries.before ? [queries.before] : []),
  ]);
  const { rows, hasNext, hasPrev } = finishPage(f, q.limit, res[0].results as SearchRow[], queries.before ? res[7].results : null);
  const imgs = new Map((res[2].results as RawImage[]).map((r) => [r.id, imageFromRaw(r)]));
  const ids = rows.map((r) => r.id).filter((id) => imgs.has(id));
  const anns = assembleContentsAnnotations(ids, [res[3].results, res[4].results, res[5].results, res[6].results] as Parameters<typeof assembleContentsAnnotations>[1]);
  const results = await Promise.all(
    ids.map(async (id) => ({
      record_type: "image" as const,
      folder: null,
      image: await serializeContentsImage(ctx, imgs.get(id)!, passingEntries(anns.get(id) ?? [], sets, f)),
    })),
  );
  return { count: (res[1].results[0] as { n: number }).n, ...cursorLinks(requestUrl, rows, hasNext, hasPrev), results };
}

/** Datasets searched at once by the global search: each is one or two queries (one RPC once datasets are objects). */
export const GLOBAL_SEARCH_CONCURRENCY = 6;

/**
 * The global search's page, dataset by dataset (issue 13: each dataset is searched where its rows live, at most
 * GLOBAL_SEARCH_CONCURRENCY at a time), merged by (image id, set id). Each dataset's page is already cut at
 * `limit` around the cursor, so the merged page is the first `limit` rows after the cursor (the last `limit` before
 * it for `direction=prev`); more exist on a side when any dataset says so or the merge had more than `limit`.
 * Only annotation rows are results here: no NULL rows for unannotated images.
 * @throws ApiError 400 when one dataset's image names × sets are more than one query can bind (planSearch).
 */
async function searchEachDataset(ctx: ServiceCtx, sets: CandidateSet[], f: Filters, limit: number, moved: Set<number>) {
  const byDataset = new Map<number, CandidateSet[]>();
  for (const s of sets) byDataset.set(s.datasetId, [...(byDataset.get(s.datasetId) ?? []), s]);
  const groups = [...byDataset.values()];
  const plans = groups.map((g) => planSearch(g, { ...f, sets: g.map((s) => s.id) }, []));
  // A dataset moved to its DatasetStore is searched there (issue 13); D1 holds only a stale copy of its rows.
  const pages = await mapBounded(groups.map((g, i) => ({ g, i })), GLOBAL_SEARCH_CONCURRENCY, ({ g, i }) => {
    const ds = g[0].datasetId;
    return moved.has(ds) ? datasetStore(ctx.env, ds).searchPage(ds, g, f, limit) : runSearch(ctx.db, plans[i], f, limit, false);
  });
  const merged = pages.flatMap((p) => p.rows).sort((a, b) => a.id - b.id || (a.set_id ?? 0) - (b.set_id ?? 0));
  const more = merged.length > limit;
  if (f.cursor?.direction === "prev")
    return { rows: merged.slice(-limit), hasNext: true, hasPrev: more || pages.some((p) => p.hasPrev) };
  return { rows: merged.slice(0, limit), hasNext: more || pages.some((p) => p.hasNext), hasPrev: pages.some((p) => p.hasPrev) };
}

/**
 * The legacy global search (remo-reference §6.2): one result per matching (image, set) row, over sets the caller
 * can read (its own datasets and public ones). Tags keep their case here, as Remo does.
 */
export async function globalSearch(ctx: ServiceCtx, q: SearchParams & { dataset_id?: number; limit: number }, requestUrl: string) {
  if ((q.sets === undefined || q.sets === "") && q.dataset_id === undefined)
    throw badRequest("Invalid query: sets: give `sets` or `dataset_id`", [{ path: "sets", message: "required unless dataset_id is given" }]);
  const f = await parseFilters(ctx.db, q, { keepTagCase: true });
  const visible = await ctx.db.all<CandidateSet>(sql`
    SELECT s.id, s.dataset_id AS datasetId, s.task FROM annotation_sets s JOIN datasets d ON d.id = s.dataset_id
    WHERE (d.owner_id = ${ctx.user.id} OR d.is_public = 1)
      AND ${f.sets ? sql`s.id IN (SELECT value FROM json_each(${JSON.stringify(f.sets)}))` : sql`1`}
      AND ${q.dataset_id !== undefined ? sql`s.dataset_id = ${q.dataset_id}` : sql`1`}
    ORDER BY s.id`);
  const sets = candidateSets(visible, { ...f, sets: null });
  const moved = await movedDatasets(ctx.env, [...new Set(sets.map((s) => s.datasetId))]);
  const { rows, hasNext, hasPrev } = await searchEachDataset(ctx, sets, f, q.limit, moved);
  const byDataset = new Map<number, number[]>();
  const setDataset = new Map(sets.map((s) => [s.id, s.datasetId]));
  for (const r of rows) {
    const ds = setDataset.get(r.set_id!)!;
    byDataset.set(ds, [...(byDataset.get(ds) ?? []), r.id]);
  }
  const imgs = await imageRows(ctx, rows.filter((r) => !moved.has(setDataset.get(r.set_id!)!)).map((r) => r.id));
  const anns = new Map<number, Awaited<ReturnType<typeof contentsAnnotations>>>();
  await mapBounded([...byDataset], GLOBAL_SEARCH_CONCURRENCY, async ([ds, ids]) => {
    if (!moved.has(ds)) return anns.set(ds, await contentsAnnotations(ctx.db, ds, ids));
    const found = await datasetStore(ctx.env, ds).searchDetails(ds, ids);
    for (const img of found.images) imgs.set(img.id, img as ImageRow);
    anns.set(ds, found.annotations);
  });
  const results = await Promise.all(
    rows
      .filter((r) => imgs.has(r.id))
      .map(async (r) => {
        const img = imgs.get(r.id)!;
        const ds = setDataset.get(r.set_id!)!;
        const e = anns.get(ds)?.get(r.id)?.find((x) => x.annotation_set_id === r.set_id);
        return {
          image_id: img.id,
          dataset_id: img.datasetId,
          annotation_set_id: r.set_id,
          name: img.originalName,
          preview: (await imageUrls(ctx.env, img)).preview,
          dimensions: [img.width, img.height],
          annotations: { coordinates: e?.coordinates ?? [], object_classes: e?.object_classes ?? [], classes: e?.classes ?? [], tags: e?.tags ?? [] },
        };
      }),
  );
  return { count: results.length, ...cursorLinks(requestUrl, rows, hasNext, hasPrev), results };
}
