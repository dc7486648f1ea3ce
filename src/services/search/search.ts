// Remo's search (remo-reference §6.1, §6.2) as indexed SQL: one ordered, LIMITed driver query per candidate set.
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { containsCi, runBatch } from "../../lib/d1";
import { badRequest } from "../../lib/errors";
import type { CandidateSet, Filters } from "./filters";

/**
 * An integer written into the SQL text rather than bound: a search over many sets repeats its ids in one driver per
 * set, and D1 binds at most 100 parameters per statement (60 sets with a tag filter was a 500). Only integers we
 * parsed or read (ids, limits, cursors) go through here; strings (image names) stay bound.
 * @throws Error for anything but a safe integer, so no text can reach the SQL this way.
 */
function int(n: number): SQL {
  if (!Number.isSafeInteger(n)) throw new Error(`search: ${String(n)} is not an integer`);
  return sql.raw(String(n));
}

/**
 * Joins the drivers with UNION (or UNION ALL) in groups of at most 5 terms, each group a subquery, nested as deep as
 * needed: D1 refuses a compound SELECT of even 16 terms ("too many terms in compound SELECT"; 5 pass), and a user may
 * search every set they can read at once (the search page's "all datasets"). Depth grows as log5 of the sets.
 */
function compound(terms: SQL[], op: "UNION" | "UNION ALL"): SQL {
  const WIDTH = 5;
  if (terms.length <= WIDTH) return sql.join(terms, sql.raw(` ${op} `));
  const groups: SQL[] = [];
  for (let i = 0; i < terms.length; i += WIDTH)
    groups.push(sql`SELECT * FROM (${sql.join(terms.slice(i, i + WIDTH), sql.raw(` ${op} `))})`);
  return compound(groups, op);
}

function nameConds(f: Filters, imageId: SQL): SQL[] {
  return f.imageNames.map(
    (n) => sql`EXISTS (SELECT 1 FROM images ni WHERE ni.id = ${imageId} AND ${containsCi(sql`ni.original_name`, n)})`,
  );
}

/** Conditions on one (set, image) annotation row: every positive filter present, no negative one (AND within a set). */
function rowConds(setId: number, imageId: SQL, f: Filters, skipClass?: number, skipTag?: number): SQL[] {
  const c: SQL[] = [];
  for (const id of f.classIds)
    if (id !== skipClass)
      c.push(
        sql`EXISTS (SELECT 1 FROM annotation_classes x WHERE x.set_id = ${int(setId)} AND x.class_id = ${int(id)} AND x.image_id = ${imageId})`,
      );
  for (const id of f.tagIds)
    if (id !== skipTag)
      c.push(
        sql`EXISTS (SELECT 1 FROM image_tags x WHERE x.set_id = ${int(setId)} AND x.tag_id = ${int(id)} AND x.image_id = ${imageId})`,
      );
  for (const id of f.classNotIds)
    c.push(
      sql`NOT EXISTS (SELECT 1 FROM annotation_classes x WHERE x.set_id = ${int(setId)} AND x.class_id = ${int(id)} AND x.image_id = ${imageId})`,
    );
  for (const id of f.tagNotIds)
    c.push(
      sql`NOT EXISTS (SELECT 1 FROM image_tags x WHERE x.set_id = ${int(setId)} AND x.tag_id = ${int(id)} AND x.image_id = ${imageId})`,
    );
  return c;
}

type Range = { op: ">" | ">=" | "<"; id: number } | null;

const and = (conds: SQL[]) => (conds.length ? sql.join(conds, sql` AND `) : sql`1`);

/**
 * The image ids of one set's matching rows, in id order, driven by the most selective index: the first class's
 * (set, class, image) range, else the first tag's (set, tag, image) range, else the set's annotation rows.
 */
function setDriver(setId: number, f: Filters, range: Range, desc: boolean, limit: number | null): SQL {
  const order = sql.raw(desc ? "DESC" : "ASC");
  const lim = limit === null ? sql`` : sql` LIMIT ${int(limit)}`;
  const rng = (col: SQL) => (range ? sql` AND ${col} ${sql.raw(range.op)} ${int(range.id)}` : sql``);
  if (f.classIds.length) {
    const col = sql`d.image_id`;
    return sql`SELECT DISTINCT d.image_id AS id, ${int(setId)} AS set_id FROM annotation_classes d
      WHERE d.set_id = ${int(setId)} AND d.class_id = ${int(f.classIds[0])}${rng(col)} AND ${and([...rowConds(setId, col, f, f.classIds[0]), ...nameConds(f, col)])}
      ORDER BY d.image_id ${order}${lim}`;
  }
  if (f.tagIds.length) {
    const col = sql`d.image_id`;
    return sql`SELECT d.image_id AS id, ${int(setId)} AS set_id FROM image_tags d
      WHERE d.set_id = ${int(setId)} AND d.tag_id = ${int(f.tagIds[0])}${rng(col)} AND ${and([...rowConds(setId, col, f, undefined, f.tagIds[0]), ...nameConds(f, col)])}
      ORDER BY d.image_id ${order}${lim}`;
  }
  const col = sql`d.image_id`;
  return sql`SELECT d.image_id AS id, ${int(setId)} AS set_id FROM annotations d
    WHERE d.set_id = ${int(setId)}${rng(col)} AND ${and([...rowConds(setId, col, f), ...nameConds(f, col)])}
    ORDER BY d.image_id ${order}${lim}`;
}

/**
 * Images with no annotation row in any set of the dataset: Remo's RIGHT JOIN gives them a NULL row, which
 * passes negative filters and image_name, but not positive ones, a task, or an explicit `sets` list.
 */
function unannotatedDriver(datasetId: number, f: Filters, range: Range, desc: boolean, limit: number | null): SQL {
  const order = sql.raw(desc ? "DESC" : "ASC");
  const lim = limit === null ? sql`` : sql` LIMIT ${int(limit)}`;
  const rng = range ? sql` AND i.id ${sql.raw(range.op)} ${int(range.id)}` : sql``;
  const names = f.imageNames.map((n) => containsCi(sql`i.original_name`, n));
  return sql`SELECT i.id AS id, NULL AS set_id FROM images i
    WHERE i.dataset_id = ${int(datasetId)}${rng} AND ${and(names)}
      AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = i.id)
    ORDER BY i.id ${order}${lim}`;
}

export interface SearchPlan {
  drivers: ((range: Range, desc: boolean, limit: number | null) => SQL)[];
}

/**
 * Image names are the one thing a driver still binds, once per driver (D1: at most 100 bound parameters per
 * statement, a few of them the statement's own). Beyond this many name bindings the search is a 400 saying what to
 * narrow, not a D1 error (a 500). Binding the names once per statement through a CTE was tried and left: the
 * contents view embeds the page query in other statements, where SQLite did not see the CTE.
 */
const MAX_NAME_BINDINGS = 90;

/** @throws ApiError 400 when the image names times the drivers would pass MAX_NAME_BINDINGS. */
export function planSearch(sets: CandidateSet[], f: Filters, allDatasetIds: number[]): SearchPlan {
  if (f.impossible) return { drivers: [] };
  const drivers: SearchPlan["drivers"] = sets.map((s) => (r, d, l) => setDriver(s.id, f, r, d, l));
  const nullRows = !f.classIds.length && !f.tagIds.length && !f.task && !f.taskNot && !f.sets;
  if (nullRows) for (const dsId of allDatasetIds) drivers.push((r, d, l) => unannotatedDriver(dsId, f, r, d, l));
  if (f.imageNames.length * drivers.length > MAX_NAME_BINDINGS)
    throw badRequest(
      `image_name: ${f.imageNames.length} name(s) over ${drivers.length} annotation sets is more than one search can ` +
        `take (at most ${MAX_NAME_BINDINGS} names × sets): give fewer names, or narrow the search with sets or dataset_id.`,
    );
  return { drivers };
}

export type SearchRow = { id: number; set_id: number | null };

/**
 * The page query (limit + 1 rows around the cursor) and, when a cursor is given, the query that says whether
 * matches exist before it: both are pure SQL, so callers batch them with the reads of the page's contents.
 */
export function searchQueries(
  plan: SearchPlan,
  f: Filters,
  limit: number,
  distinctImages: boolean,
): { page: SQL; before: SQL | null } | null {
  if (!plan.drivers.length) return null;
  const cur = f.cursor;
  const prev = cur?.direction === "prev";
  const range: Range = !cur
    ? null
    : cur.direction === "next"
      ? { op: ">", id: cur.imageId }
      : prev
        ? { op: "<", id: cur.imageId }
        : { op: ">=", id: cur.imageId };
  // Each driver is bounded by its own LIMIT, so a page reads at most (limit + 1) index entries per set.
  const union = (r: Range, desc: boolean, l: number) =>
    compound(
      plan.drivers.map((d) => sql`SELECT * FROM (${d(r, desc, l)})`),
      "UNION",
    );
  const pick = distinctImages ? sql`DISTINCT id, NULL AS set_id` : sql`id, set_id`;
  const fetch = limit + 1;
  const beforeRange: Range =
    !cur || prev ? null : { op: "<", id: cur.direction === "next" ? cur.imageId + 1 : cur.imageId };
  return {
    page: sql`SELECT ${pick} FROM (${union(range, prev, fetch)})
      ORDER BY id ${sql.raw(prev ? "DESC" : "ASC")}${distinctImages ? sql`` : sql`, set_id`} LIMIT ${fetch}`,
    before: beforeRange ? sql`SELECT id FROM (${union(beforeRange, true, 1)}) LIMIT 1` : null,
  };
}

/** The page in ascending order and whether more matches exist on either side. */
export function finishPage(f: Filters, limit: number, rows: SearchRow[], before: unknown[] | null) {
  const prev = f.cursor?.direction === "prev";
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  if (prev) page.reverse();
  return { rows: page, hasNext: prev ? true : more, hasPrev: prev ? more : (before?.length ?? 0) > 0 };
}

export async function runSearch(db: Db, plan: SearchPlan, f: Filters, limit: number, distinctImages: boolean) {
  const q = searchQueries(plan, f, limit, distinctImages);
  if (!q) return { rows: [] as SearchRow[], hasNext: false, hasPrev: false };
  const res = await runBatch(db.$client, q.before ? [q.page, q.before] : [q.page]);
  return finishPage(f, limit, res[0].results as SearchRow[], q.before ? res[1].results : null);
}

/**
 * The number of distinct matching images (or rows) as one query. One class or one tag in one set, and nothing else,
 * reads its counter: `annotation_set_classes.image_count`, or `set_tag_counts` (kept by triggers, migrations/0007;
 * no row means no image has the tag).
 */
export function countQuery(plan: SearchPlan, f: Filters, sets: CandidateSet[], distinctImages: boolean): SQL | null {
  if (!plan.drivers.length) return null;
  const onlyOneName =
    sets.length === 1 &&
    plan.drivers.length === 1 &&
    f.classIds.length + f.tagIds.length === 1 &&
    !f.classNotIds.length &&
    !f.tagNotIds.length &&
    !f.imageNames.length;
  if (onlyOneName && f.tagIds.length)
    return sql`SELECT COALESCE((SELECT image_count FROM set_tag_counts WHERE set_id = ${sets[0].id} AND tag_id = ${f.tagIds[0]}), 0) AS n`;
  if (onlyOneName)
    return sql`SELECT COALESCE((SELECT image_count FROM annotation_set_classes WHERE set_id = ${sets[0].id} AND class_id = ${f.classIds[0]}),
      (SELECT COUNT(DISTINCT image_id) FROM annotation_classes WHERE set_id = ${sets[0].id} AND class_id = ${f.classIds[0]})) AS n`;
  const union = compound(
    plan.drivers.map((d) => sql`SELECT * FROM (${d(null, false, null)})`),
    "UNION ALL",
  );
  return distinctImages
    ? sql`SELECT COUNT(DISTINCT id) AS n FROM (${union})`
    : sql`SELECT COUNT(*) AS n FROM (${union})`;
}

/** Relative links: the request's path and query with `image_id` and `direction` replaced (Remo's shape). */
export function cursorLinks(requestUrl: string, rows: { id: number }[], hasNext: boolean, hasPrev: boolean) {
  const url = new URL(requestUrl);
  const link = (id: number, direction: "next" | "prev") => {
    const q = new URLSearchParams(url.search);
    q.delete("offset");
    q.set("image_id", String(id));
    q.set("direction", direction);
    return `${url.pathname}?${q.toString()}`;
  };
  return {
    next: hasNext && rows.length ? link(rows[rows.length - 1].id, "next") : null,
    previous: hasPrev && rows.length ? link(rows[0].id, "prev") : null,
  };
}

/** Keeps the per-set annotation entries of a result that pass the filters (remo-reference §6.1 "Result items"). */
export function passingEntries<T extends { annotation_set_id: number; classes: string[]; tags: string[] }>(
  entries: T[],
  sets: CandidateSet[],
  f: Filters,
): T[] {
  const ok = new Set(sets.map((s) => s.id));
  return entries.filter(
    (e) =>
      ok.has(e.annotation_set_id) &&
      f.classNames.every((c) => e.classes.includes(c)) &&
      f.tagNames.every((t) => e.tags.includes(t)) &&
      !f.classNotNames.some((c) => e.classes.includes(c)) &&
      !f.tagNotNames.some((t) => e.tags.includes(t)) &&
      (e.classes.length > 0 || e.tags.length > 0 || f.classNames.length + f.tagNames.length === 0),
  );
}
