import { sql, type SQL } from "drizzle-orm";
import { notFound } from "../../lib/errors";
import { imageUrls } from "../../lib/image-urls";
import type { PageQuery } from "../../lib/pagination";
import type { GalleryGroup, GalleryQuery, SetImage } from "../../schemas/annotation-gallery";
import { statusName } from "./save";
import { readableSet, type AnnotationSetRow } from "./sets";
import type { ServiceCtx } from "../context";

/** Remo's gallery orders (DatasetAnnotationSetImageViewSet._order_images): `order` picks the whole sequence. */
const SEQUENCE: Record<GalleryGroup, GalleryGroup[]> = {
  not_annotated: ["not_annotated", "skipped", "annotated"],
  skipped: ["skipped", "not_annotated", "annotated"],
  annotated: ["annotated", "skipped", "not_annotated"],
};

const groupOf = (status: number | null | undefined): GalleryGroup =>
  status === 1 ? "annotated" : status === 0 ? "skipped" : "not_annotated";

/** A place in the gallery: its group, then its id (ids ascend within a group). */
interface Pos {
  group: GalleryGroup;
  id: number;
}

type Range = { op: ">" | ">=" | "<"; id: number } | null;

/**
 * Up to `n` ids of one group past `range`, by id. Each reads one index range and stops at `n`: skipped and annotated
 * from annotations (set_id, status, image_id); not_annotated (no row, or status -1) from images (dataset_id, id),
 * probing annotations (set_id, image_id) per image.
 */
function groupIds(set: AnnotationSetRow, group: GalleryGroup, range: Range, desc: boolean, n: number): SQL {
  const dir = sql.raw(desc ? "DESC" : "ASC");
  if (group === "not_annotated") {
    const r = range ? sql` AND i.id ${sql.raw(range.op)} ${range.id}` : sql``;
    return sql`SELECT i.id FROM images i WHERE i.dataset_id = ${set.datasetId}${r}
      AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.set_id = ${set.id} AND a.image_id = i.id AND a.status >= 0)
      ORDER BY i.id ${dir} LIMIT ${n}`;
  }
  const r = range ? sql` AND image_id ${sql.raw(range.op)} ${range.id}` : sql``;
  return sql`SELECT image_id AS id FROM annotations WHERE set_id = ${set.id} AND status = ${group === "annotated" ? 1 : 0}${r}
    ORDER BY image_id ${dir} LIMIT ${n}`;
}

/**
 * Up to `n` places after `from` (or from the start), or before it, in gallery order (always returned ascending).
 * The groups are read one after another, each only while the page is still short and capped at what it lacks, so a
 * page the first group fills costs one query (the not_annotated group, a NOT EXISTS probe per image, is not read
 * for nothing).
 */
async function walk(
  ctx: ServiceCtx,
  set: AnnotationSetRow,
  order: GalleryGroup,
  from: Pos | null,
  dir: "next" | "prev",
  inclusive: boolean,
  n: number,
): Promise<Pos[]> {
  const seq = SEQUENCE[order];
  const start = from ? seq.indexOf(from.group) : 0;
  const groups = dir === "next" ? seq.slice(start) : seq.slice(0, start + 1).reverse();
  const out: Pos[] = [];
  for (let k = 0; k < groups.length && out.length < n; k++) {
    const range: Range =
      k > 0 || !from ? null : dir === "prev" ? { op: "<", id: from.id } : { op: inclusive ? ">=" : ">", id: from.id };
    const rows = await ctx.db.all<{ id: number }>(groupIds(set, groups[k], range, dir === "prev", n - out.length));
    for (const r of rows) out.push({ group: groups[k], id: r.id });
  }
  return dir === "prev" ? out.reverse() : out;
}

/** Remo's window around an image: about half the page before it, the rest from it on, shifted when one side is short. */
function windowAround(idx: number, limit: number, size: number): [number, number] {
  if (size <= limit) return [0, size];
  const half = Math.floor(limit / 2);
  let left = idx - half;
  let right = idx + limit - half;
  if (left < 0) [left, right] = [0, right - left];
  else if (right > size) [left, right] = [left - (right - size), size];
  return [left, right];
}

/** The anchor image, which must be in the set's dataset, placed in `override`'s group or its own status's. */
async function anchorOf(
  ctx: ServiceCtx,
  set: AnnotationSetRow,
  imageId: number,
  override: GalleryQuery["image_status"],
): Promise<Pos> {
  const [row] = await ctx.db.all<{ id: number; status: number | null }>(sql`
    SELECT i.id, a.status FROM images i LEFT JOIN annotations a ON a.set_id = ${set.id} AND a.image_id = i.id
    WHERE i.id = ${imageId} AND i.dataset_id = ${set.datasetId}`);
  if (!row) throw notFound(`Image with id: ${imageId} is not in this annotation set's dataset.`);
  return { group: override === "done" ? "annotated" : (override ?? groupOf(row.status)), id: row.id };
}

/** The set in the dataset of the path, under the dataset's visibility rule (ids that do not belong together: 404). */
async function setOfDataset(ctx: ServiceCtx, datasetId: number, setId: number) {
  const found = await readableSet(ctx, setId);
  if (found.set.datasetId !== datasetId) throw notFound();
  return found;
}

/**
 * `GET /api/dataset/{ds}/annotation-set/{set}/image/`: Remo's annotation-tool gallery, stateless. Without
 * `image_id`, the first `limit` images in gallery order; with it and `direction`, the `limit` images after or before
 * it; with it alone, a page around it. `next`/`previous` are cursors (image_id, direction, image_status).
 */
export async function annotationGallery(
  ctx: ServiceCtx,
  requestUrl: string,
  datasetId: number,
  setId: number,
  q: GalleryQuery,
) {
  const { set, dataset } = await setOfDataset(ctx, datasetId, setId);
  const anchor = q.image_id === undefined ? null : await anchorOf(ctx, set, q.image_id, q.image_status);
  let page: Pos[];
  let hasPrev: boolean;
  let hasNext: boolean;
  if (!anchor) {
    page = await walk(ctx, set, q.order, null, "next", true, q.limit + 1);
    hasPrev = false;
    hasNext = page.length > q.limit;
    page = page.slice(0, q.limit);
  } else if (q.direction) {
    const got = await walk(ctx, set, q.order, anchor, q.direction, false, q.limit + 1);
    const more = got.length > q.limit;
    page = q.direction === "next" ? got.slice(0, q.limit) : got.slice(Math.max(0, got.length - q.limit));
    // The anchor itself lies on the other side.
    hasPrev = q.direction === "next" ? true : more;
    hasNext = q.direction === "next" ? more : true;
  } else {
    const [before, after] = await Promise.all([
      walk(ctx, set, q.order, anchor, "prev", false, q.limit + 1),
      walk(ctx, set, q.order, anchor, "next", true, q.limit + 1),
    ]);
    const all = [...before, ...after];
    const [left, right] = windowAround(before.length, q.limit, all.length);
    page = all.slice(left, right);
    hasPrev = left > 0;
    hasNext = right < all.length;
  }
  const items = await loadSetImages(
    ctx,
    set,
    page.map((p) => p.id),
  );
  const results = page.flatMap((p) => items.get(p.id) ?? []);
  const done = set.doneCount;
  const skipped = set.skippedCount;
  return {
    count: dataset.imageCount,
    not_annotated_count: Math.max(0, dataset.imageCount - done - skipped),
    skipped_count: skipped,
    annotated_count: done,
    ...galleryLinks(requestUrl, page, hasPrev, hasNext),
    results,
  };
}

function galleryLinks(requestUrl: string, page: Pos[], hasPrev: boolean, hasNext: boolean) {
  const url = new URL(requestUrl);
  const link = (p: Pos, direction: "next" | "prev") => {
    const q = new URLSearchParams(url.search);
    q.delete("offset");
    q.set("image_id", String(p.id));
    q.set("direction", direction);
    q.set("image_status", p.group);
    return `${url.pathname}?${q.toString()}`;
  };
  return {
    next: hasNext && page.length ? link(page[page.length - 1], "next") : null,
    previous: hasPrev && page.length ? link(page[0], "prev") : null,
  };
}

/** `GET /api/v1/ui/annotation-sets/{set}/images/`: the dataset's images by id, with their state in the set. */
export async function listSetImages(
  ctx: ServiceCtx,
  setId: number,
  page: PageQuery,
): Promise<{ count: number; results: SetImage[] }> {
  const { set, dataset } = await readableSet(ctx, setId);
  const ids = await ctx.db.all<{ id: number }>(sql`
    SELECT id FROM images WHERE dataset_id = ${dataset.id} ORDER BY id LIMIT ${page.limit} OFFSET ${page.offset}`);
  const items = await loadSetImages(
    ctx,
    set,
    ids.map((r) => r.id),
  );
  return { count: dataset.imageCount, results: ids.flatMap((r) => items.get(r.id) ?? []) };
}

/**
 * The images `ids` (of the set's dataset) with their status, counts and classes in the set, in two queries whatever
 * the page's size (the ids travel as one JSON parameter: D1 binds at most 100). Both are written so each
 * image is one index probe (CROSS JOIN keeps json_each the outer loop; IN (json_each) probes (set_id, image_id)):
 * the plain joins let SQLite scan the whole dataset's, or set's, index instead.
 */
async function loadSetImages(ctx: ServiceCtx, set: AnnotationSetRow, ids: number[]): Promise<Map<number, SetImage>> {
  const json = JSON.stringify(ids);
  const [rows, classRows] = await Promise.all([
    ctx.db.all<{
      id: number;
      dataset_id: number;
      original_name: string;
      width: number;
      height: number;
      size: number;
      status: number | null;
      objects: number;
      image_classes: number;
      tags: number;
    }>(sql`
      SELECT i.id, i.dataset_id, i.original_name, i.width, i.height, i.size, a.status, COALESCE(a.object_count, 0) AS objects,
        (SELECT COUNT(*) FROM annotation_classes ac WHERE ac.set_id = ${set.id} AND ac.image_id = i.id AND ac.object_id IS NULL) AS image_classes,
        (SELECT COUNT(*) FROM image_tags t WHERE t.set_id = ${set.id} AND t.image_id = i.id) AS tags
      FROM json_each(${json}) j
      CROSS JOIN images i ON i.id = j.value AND i.dataset_id = ${set.datasetId}
      LEFT JOIN annotations a ON a.set_id = ${set.id} AND a.image_id = i.id`),
    ctx.db.all<{ image_id: number; name: string }>(sql`
      SELECT DISTINCT ac.image_id, c.name FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id
      WHERE ac.set_id = ${set.id} AND ac.image_id IN (SELECT value FROM json_each(${json}))
      ORDER BY ac.image_id, c.name`),
  ]);
  const classes = new Map<number, string[]>();
  for (const r of classRows) {
    const list = classes.get(r.image_id) ?? [];
    list.push(r.name);
    classes.set(r.image_id, list);
  }
  const classification = set.task === "image_classification";
  const out = new Map<number, SetImage>();
  async function item(r: (typeof rows)[number]): Promise<SetImage> {
    const urls = await imageUrls(ctx.env, { id: r.id, originalName: r.original_name });
    return {
      id: r.id,
      name: r.original_name,
      dataset_id: r.dataset_id,
      width: r.width,
      height: r.height,
      dimensions: [r.width, r.height],
      size_in_bytes: r.size,
      status: statusName(r.status),
      annotates_count: classification ? r.image_classes : r.objects,
      objects_count: r.objects,
      tags_count: r.tags,
      classes: classes.get(r.id) ?? [],
      image: urls.url,
      original: urls.url,
      view: urls.view,
      preview: urls.preview,
      thumbnail: urls.thumbnail,
    };
  }
  for (const it of await Promise.all(rows.map(item))) out.set(it.id, it);
  return out;
}
