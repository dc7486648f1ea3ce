import { inArray, sql } from "drizzle-orm";
import { images } from "../db/schema";
import { badRequest } from "../lib/errors";
import { imageUrls } from "../lib/image-urls";
import { readableDataset } from "./access";
import { serializeContentsImage, type ImageRow } from "./contents";
import type { ServiceCtx } from "./context";
import { contentsAnnotations } from "./image-annotations";
import { candidateSets, countSearch, cursorLinks, parseFilters, passingEntries, planSearch, runSearch, type CandidateSet, type SearchParams } from "./search";

async function imageRows(ctx: ServiceCtx, ids: number[]): Promise<Map<number, ImageRow>> {
  if (!ids.length) return new Map();
  const rows = await ctx.db.select().from(images).where(inArray(images.id, sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`));
  return new Map(rows.map((r) => [r.id, r]));
}

/** The contents route in search mode (remo-reference §6.1): distinct images by id, cursor-paged. */
export async function searchContents(ctx: ServiceCtx, datasetId: number, q: SearchParams & { limit: number }, requestUrl: string) {
  const d = await readableDataset(ctx, datasetId);
  const [f, all] = await Promise.all([
    parseFilters(ctx.db, q),
    ctx.db.all<CandidateSet>(sql`SELECT id, dataset_id AS datasetId, task FROM annotation_sets WHERE dataset_id = ${d.id} ORDER BY id`),
  ]);
  const sets = candidateSets(all, f);
  const plan = planSearch(sets, f, [d.id]);
  const [{ rows, hasNext, hasPrev }, count] = await Promise.all([runSearch(ctx.db, plan, f, q.limit, true), countSearch(ctx.db, plan, f, sets, true)]);
  const ids = rows.map((r) => r.id);
  const [imgs, anns] = await Promise.all([imageRows(ctx, ids), contentsAnnotations(ctx.db, d.id, ids)]);
  const results = await Promise.all(
    ids
      .filter((id) => imgs.has(id))
      .map(async (id) => ({
        record_type: "image" as const,
        folder: null,
        image: await serializeContentsImage(ctx, imgs.get(id)!, passingEntries(anns.get(id) ?? [], sets, f)),
      })),
  );
  return { count, ...cursorLinks(requestUrl, rows, hasNext, hasPrev), results };
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
  // Only annotation rows are results here: no NULL rows for unannotated images.
  const plan = planSearch(sets, { ...f, sets: f.sets ?? sets.map((s) => s.id) }, []);
  const { rows, hasNext, hasPrev } = await runSearch(ctx.db, plan, f, q.limit, false);
  const byDataset = new Map<number, number[]>();
  const setDataset = new Map(sets.map((s) => [s.id, s.datasetId]));
  for (const r of rows) {
    const ds = setDataset.get(r.set_id!)!;
    byDataset.set(ds, [...(byDataset.get(ds) ?? []), r.id]);
  }
  const imgs = await imageRows(ctx, rows.map((r) => r.id));
  const anns = new Map<number, Awaited<ReturnType<typeof contentsAnnotations>>>();
  await Promise.all([...byDataset].map(async ([ds, ids]) => anns.set(ds, await contentsAnnotations(ctx.db, ds, ids))));
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
