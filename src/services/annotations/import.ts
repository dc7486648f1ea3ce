import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { ImportedObject, ImportRecord } from "../../formats/types";
import { runBatch } from "../../lib/d1";
import { candidateImageNames, normalizeClassName, normalizeTagName } from "../../lib/names";
import { extentProblem, pointsExtent } from "../../lib/object-bounds";
import type { TaskType } from "../../lib/task";
import { importShareStatements } from "./statistics";

export interface ApplyImportOptions {
  datasetId: number;
  setId: number;
  task: TaskType;
  skipNewClasses: boolean;
  /**
   * What earlier calls of the same import learnt about the images they wrote (a streamed COCO file calls once per
   * batch, and touches the same images in each): `newImportMemo()`, one per file. Without it every call reads the
   * touched images' existing objects again.
   */
  memo?: ImportMemo;
}

/**
 * Per-import knowledge of images that had no object in the set when the import first touched them, so that every
 * object they have is one this import wrote: the next position, the object count, and a 32-bit hash of each
 * object's coordinates. A later call trusts it for an image whose annotation row still has that `object_count`
 * (another writer in between changes the count, and the image goes back to being read); a hash hit is checked
 * against the rows, since hashes can collide. Bounded by MEMO_OBJECTS hashes, past which images are read as before.
 * An edit elsewhere that leaves the image's count unchanged (one box deleted, one drawn, between two batches) goes
 * unseen: at worst a position number repeated or a box drawn there and imported too kept twice, never one lost.
 */
export interface ImportMemo {
  images: Map<number, { next: number; count: number; hashes: Set<number> }>;
  objects: number;
}

/** ~8-16 bytes each in a Set: 2,000,000 hashes stay well inside a 128 MB isolate. */
const MEMO_OBJECTS = 2_000_000;

export function newImportMemo(): ImportMemo {
  return { images: new Map(), objects: 0 };
}

/** FNV-1a, 32 bits, over UTF-16 code units (coordinates are ASCII JSON). */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface ApplyImportResult {
  imagesMatched: number;
  objectsAdded: number;
  /** File names (as written in the records) that match no image of the dataset. */
  missing: string[];
  /** Objects left out because they have no area in their image, each with why (the first MAX_REPORTED). */
  skipped: string[];
  skippedCount: number;
  /** "exact" records matched only by their base name: `{ fileName, imageName }` (the first MAX_REPORTED). */
  baseNameMatches: { fileName: string; imageName: string }[];
  baseNameMatchCount: number;
}

/** Per-object notes kept per call: a file of a million bad rows reports a count, not a million lines. */
const MAX_REPORTED = 50;

interface ImageRow {
  id: number;
  width: number;
  height: number;
  name: string;
}

/** What one image receives from every record that names it, already normalised and de-duplicated. */
interface ImageWork {
  image: ImageRow;
  /** coordinates JSON → object (same coordinates merge, their classes are united). */
  objects: Map<string, { kind: "bbox" | "polygon"; classes: Set<string> }>;
  classes: Set<string>;
  tags: Set<string>;
  /** A record said the image has no object (YOLO's empty label file): its annotation is marked done anyway. */
  annotatedEmpty: boolean;
}

// Each statement binds a handful of JSON arrays: D1 allows 100 bound parameters, so rows travel as one
// json_each() parameter each. These sizes keep every parameter well under D1's 1 MB-ish value limits and each
// batch() a bounded transaction.
const NAME_CHUNK = 2000;
const IMAGES_PER_BATCH = 1000;
const ROWS_PER_STATEMENT = 2000;

const now = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * An object placed in its image: integer pixel coordinates clamped to the `width`×`height` image (relative numbers
 * scaled by it first; Remo stores ints), or why it cannot be stored: `problem` when it is malformed (NaN, wrong
 * arity, a polygon under 3 points) or has no area inside the image (wholly outside, or zero width or height once
 * clamped; rule in lib/object-bounds.ts). A box partly outside is clamped, as Remo does.
 */
export function placeImportedObject(
  obj: ImportedObject,
  width: number,
  height: number,
): { coordinates: number[]; problem?: undefined } | { coordinates?: undefined; problem: string } {
  const c = obj.coordinates;
  if (!Array.isArray(c) || c.some((v) => typeof v !== "number" || !Number.isFinite(v)))
    return { problem: "coordinates are not all finite numbers" };
  if (obj.kind === "bbox" && c.length !== 4) return { problem: `a box needs 4 numbers, not ${c.length}` };
  if (obj.kind === "polygon" && (c.length < 6 || c.length % 2 !== 0))
    return { problem: "a polygon needs at least 3 points (an even count of numbers, 6 or more)" };
  const sx = obj.relative ? width : 1;
  const sy = obj.relative ? height : 1;
  const px = c.map((v, i) => (i % 2 === 0 ? v * sx : v * sy));
  const problem = extentProblem(obj.kind === "bbox" ? px : pointsExtent(px), width, height);
  if (problem) return { problem };
  const x = (v: number) => Math.min(width, Math.max(0, Math.trunc(v)));
  const y = (v: number) => Math.min(height, Math.max(0, Math.trunc(v)));
  if (obj.kind === "bbox") {
    const [x1, y1, x2, y2] = [x(px[0]), y(px[1]), x(px[2]), y(px[3])];
    return { coordinates: [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)] };
  }
  return { coordinates: px.map((v, i) => (i % 2 === 0 ? x(v) : y(v))) };
}

/** `placeImportedObject`'s coordinates, or null when the object cannot be stored. */
export function importCoordinates(obj: ImportedObject, width: number, height: number): number[] | null {
  return placeImportedObject(obj, width, height).coordinates ?? null;
}

/**
 * Image rows of the dataset for the records' file names, following Remo's matching rules (remo-reference §3):
 * `match(record)` is the first candidate name that is an image, and whether it was a fallback (an "exact" record
 * found by its base name).
 */
async function matchImages(db: Db, datasetId: number, records: ImportRecord[]) {
  const wanted = new Set<string>();
  const candidates = new Map<ImportRecord, string[]>();
  for (const r of records) {
    const names = candidateImageNames(r.fileName, r.match);
    candidates.set(r, names);
    for (const n of names) wanted.add(n);
  }
  const byName = new Map<string, ImageRow>();
  for (const names of chunk([...wanted], NAME_CHUNK)) {
    const rows = await db.all<ImageRow & { original_name: string }>(sql`
      SELECT id, original_name, width, height FROM images
      WHERE dataset_id = ${datasetId} AND original_name IN (SELECT value FROM json_each(${JSON.stringify(names)}))`);
    for (const r of rows) byName.set(r.original_name, { id: r.id, width: r.width, height: r.height, name: r.original_name });
  }
  const match = (r: ImportRecord): { image: ImageRow; fallback: boolean } | null => {
    const names = candidates.get(r) ?? [];
    for (let i = 0; i < names.length; i++) {
      const hit = byName.get(names[i]);
      if (hit) return { image: hit, fallback: r.match === "exact" && i > 0 };
    }
    return null;
  };
  return match;
}

/** Name → id for names get-or-created in a global name table (classes or tags). */
async function ensureNames(db: Db, table: "classes" | "tags", names: string[], create: boolean): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const t = sql.raw(table);
  for (const part of chunk(names, NAME_CHUNK)) {
    const json = JSON.stringify(part);
    if (create) await db.run(sql`INSERT OR IGNORE INTO ${t} (name) SELECT DISTINCT value FROM json_each(${json})`);
    const rows = await db.all<{ id: number; name: string }>(sql`SELECT id, name FROM ${t} WHERE name IN (SELECT value FROM json_each(${json}))`);
    for (const r of rows) ids.set(r.name, r.id);
  }
  return ids;
}

/**
 * Writes parsed annotation records into a set, merging as Remo's import does (remo-reference §3): an annotation
 * row per image (status done), objects appended unless an object with the same coordinates exists (then it gets
 * the new classes), image-classification classes and tags added. Applying the same records twice adds nothing.
 * The set's statistics move in the same batch() as each chunk of writes.
 *
 * Beyond Remo (issue 10): an object with no area in its image is skipped and listed in `skipped` (its `source`,
 * the file name and why); an "exact" record found only by its base name is listed in `baseNameMatches`; a record
 * marked `annotatedEmpty` gives its image a done annotation even with nothing in it. Both lists are bounded
 * (MAX_REPORTED), their counts exact.
 */
export async function applyImport(db: Db, opts: ApplyImportOptions, records: ImportRecord[]): Promise<ApplyImportResult> {
  const { datasetId, setId, task, skipNewClasses } = opts;
  const match = await matchImages(db, datasetId, records);

  let allowed: Set<string> | null = null;
  if (skipNewClasses) {
    const rows = await db.all<{ name: string }>(sql`
      SELECT c.name FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id WHERE sc.set_id = ${setId}`);
    allowed = new Set(rows.map((r) => r.name));
  }
  const keepClasses = (names: string[]) => {
    const out = new Set<string>();
    for (const n of names) {
      const c = normalizeClassName(String(n ?? ""));
      if (c && (!allowed || allowed.has(c))) out.add(c);
    }
    return out;
  };

  const missing = new Set<string>();
  const work = new Map<number, ImageWork>();
  const classNames = new Set<string>();
  const tagNames = new Set<string>();
  const skipped: string[] = [];
  let skippedCount = 0;
  const baseNameMatches: ApplyImportResult["baseNameMatches"] = [];
  const fallbackNames = new Set<string>();
  for (const r of records) {
    const hit = match(r);
    if (!hit) {
      missing.add(r.fileName);
      continue;
    }
    const image = hit.image;
    if (hit.fallback && !fallbackNames.has(r.fileName)) {
      fallbackNames.add(r.fileName);
      if (baseNameMatches.length < MAX_REPORTED) baseNameMatches.push({ fileName: r.fileName, imageName: image.name });
    }
    let w = work.get(image.id);
    if (!w) {
      w = { image, objects: new Map(), classes: new Set(), tags: new Set(), annotatedEmpty: false };
      work.set(image.id, w);
    }
    if (r.annotatedEmpty) w.annotatedEmpty = true;
    if (task === "image_classification") {
      for (const c of keepClasses(r.classes ?? [])) {
        w.classes.add(c);
        classNames.add(c);
      }
    } else {
      for (const o of r.objects ?? []) {
        const cls = keepClasses(o.classes ?? []);
        // Remo drops an object whose classes are all unknown when new classes are not allowed.
        if (allowed && cls.size === 0) continue;
        const placed = placeImportedObject(o, image.width, image.height);
        if (!placed.coordinates) {
          if (skippedCount++ < MAX_REPORTED)
            skipped.push(`${o.source ?? "an object"} for '${r.fileName}': ${placed.problem}; skipped`);
          continue;
        }
        const key = JSON.stringify(placed.coordinates);
        const prev = w.objects.get(key);
        if (prev) for (const c of cls) prev.classes.add(c);
        else w.objects.set(key, { kind: o.kind, classes: cls });
        for (const c of cls) classNames.add(c);
      }
    }
    for (const t of r.tags ?? []) {
      const tag = normalizeTagName(String(t ?? ""));
      if (tag) {
        w.tags.add(tag);
        tagNames.add(tag);
      }
    }
  }

  const classIds = await ensureNames(db, "classes", [...classNames], !skipNewClasses);
  const tagIds = await ensureNames(db, "tags", [...tagNames], true);
  if (!skipNewClasses && classIds.size) {
    // Positions continue after the set's last class, in first-seen order.
    await db.run(sql`INSERT OR IGNORE INTO annotation_set_classes (set_id, class_id, position)
      SELECT ${setId}, CAST(j.value AS INTEGER), (SELECT COALESCE(MAX(position), -1) + 1 FROM annotation_set_classes WHERE set_id = ${setId}) + j.key
      FROM json_each(${JSON.stringify([...classNames].map((n) => classIds.get(n)).filter((id) => id !== undefined))}) j`);
  }

  let objectsAdded = 0;
  const touched = [...work.values()].filter((w) => w.objects.size || w.classes.size || w.tags.size || w.annotatedEmpty);
  for (const part of chunk(touched, IMAGES_PER_BATCH)) {
    const idsJson = JSON.stringify(part.map((w) => w.image.id));
    // Existing objects decide which coordinates merge and where new "OBJ n" numbering continues. Only what this
    // part needs comes back: each image's highest position, and those of this part's coordinates it already has.
    // Reading every existing object instead made a big import quadratic in bytes (a streamed COCO file touches
    // the same images batch after batch: the last batches of 860,000 boxes read ~26 MB of coordinates per part).
    // Images an earlier call of this import wrote from scratch (opts.memo) are known without reading their objects,
    // while their annotation's object_count is still the memo's; the others are read.
    const memo = opts.memo;
    const have = new Map<number, { coords: Set<string>; next: number }>();
    const remembered = new Set<number>();
    if (memo) {
      const ids = part.filter((w) => memo.images.has(w.image.id)).map((w) => w.image.id);
      for (const some of chunk(ids, ROWS_PER_STATEMENT)) {
        const rows = await db.all<{ image_id: number; object_count: number }>(sql`
          SELECT image_id, object_count FROM annotations
          WHERE set_id = ${setId} AND image_id IN (SELECT value FROM json_each(${JSON.stringify(some)}))`);
        for (const r of rows) if (memo.images.get(r.image_id)?.count === r.object_count) remembered.add(r.image_id);
      }
      for (const id of ids) {
        if (remembered.has(id)) have.set(id, { coords: new Set<string>(), next: memo.images.get(id)!.next });
        else {
          memo.objects -= memo.images.get(id)!.hashes.size;
          memo.images.delete(id);
        }
      }
    }
    // The rest are read: one pass over their existing objects per 2,000 of their coordinates gives the highest
    // position and the matches from the same rows (two queries read them twice, and past the page cache each read
    // of a row costs). A remembered image is read only for coordinates whose hash it has seen.
    const toRead = part.flatMap((w) => {
      if (!remembered.has(w.image.id)) return [{ id: w.image.id, coords: [...w.objects.keys()] }];
      const hashes = memo!.images.get(w.image.id)!.hashes;
      const hits = [...w.objects.keys()].filter((c) => hashes.has(hash32(c)));
      return hits.length ? [{ id: w.image.id, coords: hits }] : [];
    });
    const unread = new Set(toRead.filter((r) => !remembered.has(r.id)).map((r) => r.id));
    if (toRead.length) {
      const readIds = JSON.stringify(toRead.map((r) => r.id));
      const candidates = [...new Set(toRead.flatMap((r) => r.coords))];
      for (const coords of candidates.length ? chunk(candidates, ROWS_PER_STATEMENT) : [[]]) {
        const rows = await db.all<{ image_id: number; top: number; found: string }>(sql`
          SELECT image_id, max(position) AS top,
            json_group_array(coordinates) FILTER (WHERE coordinates IN (SELECT value FROM json_each(${JSON.stringify(coords)}))) AS found
          FROM annotation_objects
          WHERE set_id = ${setId} AND image_id IN (SELECT value FROM json_each(${readIds})) GROUP BY image_id`);
        for (const r of rows) {
          unread.delete(r.image_id);
          const h = have.get(r.image_id) ?? { coords: new Set<string>(), next: r.top + 1 };
          for (const c of JSON.parse(r.found) as string[]) h.coords.add(c);
          have.set(r.image_id, h);
        }
      }
    }
    // Read and found with no object: from here on everything they have is this import's (memo, after the write).
    const fresh = memo ? unread : new Set<number>();

    const newObjects: { i: number; p: number; n: string; k: string; c: string }[] = [];
    // Class links of objects this part inserts, and of objects the set already had (merged by coordinates).
    const objectLinks: { i: number; c: string; k: number }[] = [];
    const existingLinks: { i: number; c: string; k: number }[] = [];
    const imageLinks: { i: number; k: number }[] = [];
    const tagLinks: { i: number; t: number }[] = [];
    for (const w of part) {
      const h = have.get(w.image.id) ?? { coords: new Set<string>(), next: 1 };
      for (const [coords, o] of w.objects) {
        const merged = h.coords.has(coords);
        if (!merged) {
          const p = h.next++;
          newObjects.push({ i: w.image.id, p, n: `OBJ ${p}`, k: o.kind, c: coords });
        }
        for (const c of o.classes) {
          const k = classIds.get(c);
          if (k !== undefined) (merged ? existingLinks : objectLinks).push({ i: w.image.id, c: coords, k });
        }
      }
      for (const c of w.classes) {
        const k = classIds.get(c);
        if (k !== undefined) imageLinks.push({ i: w.image.id, k });
      }
      for (const t of w.tags) {
        const id = tagIds.get(t);
        if (id !== undefined) tagLinks.push({ i: w.image.id, t: id });
      }
    }
    objectsAdded += newObjects.length;

    // Counters (statistics.ts, importShareStatements): per-image and per-pair shares around the writes, and the
    // deltas of what this part inserts. Links to objects the set already had may exist already: those are counted
    // by the same join and NOT EXISTS as their insert, before it, in the same transaction.
    const pairs = new Map<string, [number, number]>();
    for (const l of [...objectLinks, ...existingLinks, ...imageLinks]) pairs.set(`${l.i}:${l.k}`, [l.i, l.k]);
    const pairChunks = chunk([...pairs.values()], ROWS_PER_STATEMENT).map((c) => JSON.stringify(c));
    const newPerImage = new Map<number, number>();
    for (const o of newObjects) newPerImage.set(o.i, (newPerImage.get(o.i) ?? 0) + 1);
    const newLinksPerClass = new Map<number, number>();
    for (const l of objectLinks) newLinksPerClass.set(l.k, (newLinksPerClass.get(l.k) ?? 0) + 1);

    // The object-class links a list of (image, coordinates, class) inserts: its objects found by coordinates (ids
    // above `above`) that lack the class. The insert and the count of links to existing objects read the same rows.
    const linkRows = (rows: { i: number; c: string; k: number }[], above: number) =>
      sql`FROM json_each(${JSON.stringify(rows)}) j
          CROSS JOIN annotation_objects o ON o.set_id = ${setId} AND o.image_id = json_extract(j.value, '$.i')
            AND o.id > ${above} AND o.coordinates = json_extract(j.value, '$.c')
          WHERE NOT EXISTS (SELECT 1 FROM annotation_classes x WHERE x.object_id = o.id AND x.class_id = json_extract(j.value, '$.k'))`;
    // `perClass` yields (class_id, o): objects to add to each class's object_count.
    const addToClassObjects = (perClass: SQL) =>
      sql`UPDATE annotation_set_classes SET object_count = object_count + agg.o FROM (${perClass}) AS agg
          WHERE annotation_set_classes.set_id = ${setId} AND annotation_set_classes.class_id = agg.class_id`;

    const stmts: SQL[] = [...importShareStatements(setId, idsJson, pairChunks, -1)];
    for (const rows of chunk(existingLinks, ROWS_PER_STATEMENT))
      stmts.push(addToClassObjects(sql`SELECT json_extract(j.value, '$.k') AS class_id, COUNT(*) AS o ${linkRows(rows, 0)} GROUP BY 1`));
    stmts.push(
      sql`INSERT INTO annotations (set_id, image_id, status)
        SELECT ${setId}, value, 1 FROM json_each(${idsJson}) WHERE true
        ON CONFLICT (set_id, image_id) DO UPDATE SET status = 1, updated_at = ${now}`,
    );
    for (const rows of chunk(newObjects, ROWS_PER_STATEMENT)) {
      stmts.push(
        sql`INSERT INTO annotation_objects (annotation_id, set_id, image_id, position, name, kind, coordinates)
          SELECT a.id, ${setId}, a.image_id, json_extract(j.value, '$.p'), json_extract(j.value, '$.n'),
                 json_extract(j.value, '$.k'), json_extract(j.value, '$.c')
          FROM json_each(${JSON.stringify(rows)}) j
          CROSS JOIN annotations a ON a.set_id = ${setId} AND a.image_id = json_extract(j.value, '$.i')`,
      );
    }
    // Objects are found again by (set, image, coordinates): the import never holds their new ids. The ones this
    // part inserts have ids above `floor` (read before the batch; ids only grow), and (set_id, image_id, rowid) is
    // the index's own order, so each link visits the image's new objects only, not every object it ever had.
    const floor = (await db.all<{ m: number }>(sql`SELECT coalesce(max(id), 0) AS m FROM annotation_objects`))[0]?.m ?? 0;
    const links = (rows: { i: number; c: string; k: number }[], above: number) =>
      sql`INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id)
          SELECT o.annotation_id, o.id, ${setId}, o.image_id, json_extract(j.value, '$.k') ${linkRows(rows, above)}`;
    for (const rows of chunk(objectLinks, ROWS_PER_STATEMENT)) stmts.push(links(rows, floor));
    for (const rows of chunk(existingLinks, ROWS_PER_STATEMENT)) stmts.push(links(rows, 0));
    for (const rows of chunk(imageLinks, ROWS_PER_STATEMENT)) {
      stmts.push(
        sql`INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id, score)
          SELECT a.id, NULL, ${setId}, a.image_id, json_extract(j.value, '$.k'), 1
          FROM json_each(${JSON.stringify(rows)}) j
          CROSS JOIN annotations a ON a.set_id = ${setId} AND a.image_id = json_extract(j.value, '$.i')
          WHERE NOT EXISTS (SELECT 1 FROM annotation_classes x WHERE x.annotation_id = a.id AND x.object_id IS NULL
            AND x.class_id = json_extract(j.value, '$.k'))`,
      );
    }
    for (const rows of chunk(tagLinks, ROWS_PER_STATEMENT)) {
      stmts.push(
        sql`INSERT OR IGNORE INTO image_tags (set_id, image_id, tag_id)
          SELECT ${setId}, json_extract(j.value, '$.i'), json_extract(j.value, '$.t') FROM json_each(${JSON.stringify(rows)}) j`,
      );
    }
    const countsJson = JSON.stringify(Object.fromEntries(newPerImage));
    if (newPerImage.size)
      stmts.push(
        // Keyed by image id, and the rows found by the (set, image) index: as UPDATE … FROM a json_each, SQLite
        // walked the set's every annotation once per listed image (1.3 billion rows read for 300,000 boxes).
        sql`UPDATE annotations SET object_count = object_count + json_extract(${countsJson}, '$."' || image_id || '"')
          WHERE set_id = ${setId} AND image_id IN (SELECT CAST(key AS INTEGER) FROM json_each(${countsJson}))`,
      );
    for (const rows of chunk([...newLinksPerClass], ROWS_PER_STATEMENT))
      stmts.push(
        addToClassObjects(sql`SELECT json_extract(value, '$[0]') AS class_id, json_extract(value, '$[1]') AS o FROM json_each(${JSON.stringify(rows)})`),
      );
    stmts.push(
      ...importShareStatements(setId, idsJson, pairChunks, 1),
      sql`UPDATE annotation_sets SET total_objects = total_objects + ${newObjects.length}, last_annotated_at = ${now}, updated_at = ${now}
        WHERE id = ${setId}`,
    );
    await runBatch(db.$client, stmts);

    if (memo) {
      const added = new Map<number, string[]>();
      for (const o of newObjects) {
        const list = added.get(o.i);
        if (list) list.push(o.c);
        else added.set(o.i, [o.c]);
      }
      for (const w of part) {
        const id = w.image.id;
        const m = memo.images.get(id) ?? (fresh.has(id) ? { next: 1, count: 0, hashes: new Set<number>() } : null);
        if (!m || (!remembered.has(id) && !fresh.has(id))) continue;
        const mine = added.get(id) ?? [];
        if (memo.objects + mine.length > MEMO_OBJECTS) {
          memo.objects -= m.hashes.size;
          memo.images.delete(id);
          continue;
        }
        for (const c of mine) m.hashes.add(hash32(c));
        memo.objects += mine.length;
        m.count += mine.length;
        m.next = have.get(id)?.next ?? m.next + mine.length;
        memo.images.set(id, m);
      }
    }
  }

  return {
    imagesMatched: work.size,
    objectsAdded,
    missing: [...missing],
    skipped,
    skippedCount,
    baseNameMatches,
    baseNameMatchCount: fallbackNames.size,
  };
}
