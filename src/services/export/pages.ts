import type { ExportImage } from "../../formats/export-types";

/**
 * Keyset pagination of one set's export over D1, by image id: each page is at most IMAGE_PAGE images and (but
 * for a single image that alone has more) OBJECT_PAGE objects, so memory is bounded by the page whatever the set's
 * size. Every query is an index range: images (dataset_id, id), objects / classes / tags (set_id, image_id).
 */
export const IMAGE_PAGE = 500;
export const OBJECT_PAGE = 20_000;

export interface ExportScope {
  datasetId: number;
  setId: number;
  /** Also images with no objects, classes or tags. */
  withoutAnnotations: boolean;
  /** Tag ids an image must have one of; [] = nothing matches; null = no filter. */
  tagIds: number[] | null;
  /**
   * The dataset's highest image id when the export was planned: images added later are left out of every pass,
   * so COCO's two passes (and a retried job's regenerated prefix) see the same images.
   */
  maxImageId?: number;
}

export interface PageOptions {
  /** false: image rows only (the second COCO pass, the count). */
  annotations?: boolean;
  /** Tags only (tags.csv): objects and classes are not read. */
  tagsOnly?: boolean;
  onPage?: (images: number) => void | Promise<void>;
}

interface ImageRow {
  id: number;
  original_name: string;
  r2_key: string;
  linked: number;
  width: number;
  height: number;
}

function scopeWhere(scope: ExportScope): { sql: string; binds: unknown[] } {
  let sql = "i.dataset_id = ?1";
  const binds: unknown[] = [scope.datasetId, scope.setId];
  if (!scope.withoutAnnotations) {
    // Remo's has_annotation: objects, classes or tags in this set.
    sql +=
      " AND (EXISTS (SELECT 1 FROM annotation_objects o WHERE o.set_id = ?2 AND o.image_id = i.id)" +
      " OR EXISTS (SELECT 1 FROM annotation_classes ac WHERE ac.set_id = ?2 AND ac.image_id = i.id)" +
      " OR EXISTS (SELECT 1 FROM image_tags t WHERE t.set_id = ?2 AND t.image_id = i.id))";
  }
  if (scope.maxImageId !== undefined) {
    binds.push(scope.maxImageId);
    sql += ` AND i.id <= ?${binds.length}`;
  }
  if (scope.tagIds) {
    sql += ` AND EXISTS (SELECT 1 FROM image_tags ft WHERE ft.set_id = ?2 AND ft.image_id = i.id AND ft.tag_id IN (SELECT value FROM json_each(?${binds.length + 1})))`;
    binds.push(JSON.stringify(scope.tagIds));
  }
  return { sql, binds };
}

export async function maxImageId(d1: D1Database, datasetId: number): Promise<number> {
  const row = await d1
    .prepare("SELECT max(id) AS m FROM images WHERE dataset_id = ?1")
    .bind(datasetId)
    .first<{ m: number | null }>();
  return row?.m ?? 0;
}

/** Tag names (already lower-cased) to ids; names are compared case-insensitively. */
export async function resolveTagIds(d1: D1Database, names: string[] | null): Promise<number[] | null> {
  if (!names) return null;
  const r = await d1
    .prepare("SELECT id FROM tags WHERE lower(name) IN (SELECT value FROM json_each(?1)) ORDER BY id")
    .bind(JSON.stringify(names))
    .all<{ id: number }>();
  return r.results.map((t) => t.id);
}

export async function countExportImages(d1: D1Database, scope: ExportScope): Promise<number> {
  if (scope.tagIds && !scope.tagIds.length) return 0;
  const w = scopeWhere(scope);
  const row = await d1
    .prepare(`SELECT count(*) AS n FROM images i WHERE ${w.sql}`)
    .bind(...w.binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The set's pages, in image id order, read as the consumer asks for them (nothing is read ahead). */
export async function* exportPages(
  d1: D1Database,
  scope: ExportScope,
  opts: PageOptions = {},
): AsyncGenerator<ExportImage[]> {
  if (scope.tagIds && !scope.tagIds.length) return;
  const w = scopeWhere(scope);
  const cursorAt = w.binds.length + 1;
  const imagesSql =
    `SELECT i.id, i.original_name, i.r2_key, i.linked, i.width, i.height FROM images i ` +
    `WHERE ${w.sql} AND i.id > ?${cursorAt} ORDER BY i.id LIMIT ${IMAGE_PAGE}`;
  const imagesStmt = d1.prepare(imagesSql);
  let cursor = 0;
  for (;;) {
    const rows = (await imagesStmt.bind(...w.binds, cursor).all<ImageRow>()).results;
    if (!rows.length) return;
    // The object cap may cut a page short; the cursor then resumes after its last image.
    const page =
      opts.annotations === false ? rows.map(toImage) : await loadAnnotations(d1, scope.setId, rows, !!opts.tagsOnly);
    cursor = page[page.length - 1].id;
    await opts.onPage?.(page.length);
    yield page;
    if (rows.length < IMAGE_PAGE && page.length === rows.length) return;
  }
}

function toImage(r: ImageRow): ExportImage {
  return {
    id: r.id,
    fileName: r.original_name,
    linkedPath: r.linked ? r.r2_key : null,
    width: r.width,
    height: r.height,
    tags: [],
    classes: [],
    objects: [],
  };
}

/** [id, image_id, kind, coordinates JSON, classes JSON]: positional (`raw()`), so no key is repeated per row. */
type ObjectRow = [number, number, string, string, string];

// An object with its class names in one row: half the rows the two tables would send, and no join in JS.
const OBJECT_COLUMNS =
  "SELECT o.id, o.image_id, o.kind, o.coordinates, (SELECT json_group_array(name) FROM (SELECT c.name FROM annotation_classes ac " +
  "JOIN classes c ON c.id = ac.class_id WHERE ac.object_id = o.id ORDER BY ac.id)) FROM annotation_objects o";

async function loadAnnotations(
  d1: D1Database,
  setId: number,
  rows: ImageRow[],
  tagsOnly: boolean,
): Promise<ExportImage[]> {
  let ids = rows.map((r) => r.id);
  let objects: ObjectRow[] = [];
  if (!tagsOnly) {
    objects = await d1
      .prepare(
        `${OBJECT_COLUMNS} WHERE o.set_id = ?1 AND o.image_id IN (SELECT value FROM json_each(?2)) ORDER BY o.image_id, o.position, o.id LIMIT ${OBJECT_PAGE + 1}`,
      )
      .bind(setId, JSON.stringify(ids))
      .raw<ObjectRow>();
    if (objects.length > OBJECT_PAGE) {
      // Cut the page before the image the cap split; an image that alone passes the cap is read whole.
      const split = objects[OBJECT_PAGE][1];
      const keep = ids.indexOf(split);
      if (keep > 0) {
        ids = ids.slice(0, keep);
        objects = objects.filter((o) => o[1] < split);
      } else {
        ids = ids.slice(0, 1);
        objects = await d1
          .prepare(`${OBJECT_COLUMNS} WHERE o.set_id = ?1 AND o.image_id = ?2 ORDER BY o.position, o.id`)
          .bind(setId, ids[0])
          .raw<ObjectRow>();
      }
    }
  }
  const idsJson = JSON.stringify(ids);
  const stmts = [
    d1
      .prepare(
        "SELECT it.image_id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.set_id = ?1 AND it.image_id IN (SELECT value FROM json_each(?2)) ORDER BY it.image_id, t.name",
      )
      .bind(setId, idsJson),
  ];
  if (!tagsOnly) {
    // Image-level (classification) classes: the links without an object.
    stmts.push(
      d1
        .prepare(
          "SELECT ac.image_id, c.name FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id WHERE ac.set_id = ?1 AND ac.image_id IN (SELECT value FROM json_each(?2)) AND ac.object_id IS NULL ORDER BY ac.id",
        )
        .bind(setId, idsJson),
    );
  }
  const [tagRows, classRows] = (await d1.batch(stmts)) as [
    D1Result<{ image_id: number; name: string }>,
    D1Result<{ image_id: number; name: string }>?,
  ];

  const page = rows.slice(0, ids.length).map(toImage);
  const byId = new Map(page.map((p) => [p.id, p]));
  for (const [id, imageId, kind, coordinates, classes] of objects) {
    byId.get(imageId)?.objects.push({
      id,
      kind: kind === "polygon" ? "polygon" : "bbox",
      coordinates: JSON.parse(coordinates),
      classes: JSON.parse(classes),
    });
  }
  for (const t of tagRows.results) byId.get(t.image_id)?.tags.push(t.name);
  for (const c of classRows?.results ?? []) {
    const img = byId.get(c.image_id);
    if (img && !img.classes.includes(c.name)) img.classes.push(c.name);
  }
  return page;
}
