import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { runBatch } from "../lib/d1";
import { ApiError } from "../lib/errors";
import { normalizeClassName, normalizeTagName } from "../lib/names";
import { parseTask, type TaskType } from "../lib/task";

/** The search parameters of remo-reference §6.1, as the query string carries them. */
export interface SearchParams {
  classes?: string;
  classes_not?: string;
  tags?: string;
  tags_not?: string;
  tasks?: string;
  tasks_not?: string;
  image_name?: string;
  sets?: string;
  image_id?: string;
  direction?: "next" | "prev";
}

export const SEARCH_KEYS = ["classes", "classes_not", "tags", "tags_not", "tasks", "tasks_not", "image_name", "sets"] as const;

export function isSearch(q: Record<string, unknown>): boolean {
  return SEARCH_KEYS.some((k) => q[k] !== undefined && q[k] !== "");
}

const list = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const bad = (field: string, message: string) => new ApiError("BAD_REQUEST", `Invalid query: ${field}: ${message}`, { issues: [{ path: field, message }] });

/** Parsed filters, with names resolved to ids (a positive name nobody uses matches nothing). */
export interface Filters {
  classNames: string[];
  classIds: number[];
  classNotIds: number[];
  tagNames: string[];
  tagIds: number[];
  tagNotIds: number[];
  classNotNames: string[];
  tagNotNames: string[];
  task: TaskType | null;
  taskNot: TaskType | null;
  imageNames: string[];
  sets: number[] | null;
  impossible: boolean;
  cursor: { imageId: number; direction: "next" | "prev" | null } | null;
}

function oneTask(v: string | undefined, field: string): TaskType | null {
  const first = list(v)[0];
  if (first === undefined) return null;
  const t = parseTask(first);
  if (!t) throw bad(field, `unknown task '${first}'`);
  return t;
}

/** The parameters as Remo parses them (capitalised classes, lower-cased tags unless `keepTagCase`, first task). */
export interface ParsedSearch {
  classNames: string[];
  classNotNames: string[];
  tagNames: string[];
  tagNotNames: string[];
  task: TaskType | null;
  taskNot: TaskType | null;
  imageNames: string[];
  sets: number[] | null;
  cursor: Filters["cursor"];
}

export function parseSearch(q: SearchParams, opts: { keepTagCase?: boolean } = {}): ParsedSearch {
  const tagNorm = opts.keepTagCase ? (s: string) => s.trim() : normalizeTagName;
  let sets: number[] | null = null;
  if (q.sets !== undefined && q.sets !== "") {
    const parts = list(q.sets);
    if (parts.some((p) => !/^\d+$/.test(p))) throw bad("sets", "must be a comma-separated list of integer set ids");
    sets = parts.map(Number);
  }
  let cursor: Filters["cursor"] = null;
  if (q.image_id !== undefined && q.image_id !== "") {
    if (!/^\d+$/.test(q.image_id)) throw bad("image_id", "must be an integer id");
    cursor = { imageId: Number(q.image_id), direction: q.direction ?? null };
  }
  return {
    classNames: [...new Set(list(q.classes).map(normalizeClassName))],
    classNotNames: [...new Set(list(q.classes_not).map(normalizeClassName))],
    tagNames: [...new Set(list(q.tags).map(tagNorm))],
    tagNotNames: [...new Set(list(q.tags_not).map(tagNorm))],
    task: oneTask(q.tasks, "tasks"),
    taskNot: oneTask(q.tasks_not, "tasks_not"),
    imageNames: list(q.image_name),
    sets,
    cursor,
  };
}

/** The two lookups that turn names into ids (classes, tags), to run in a batch with other independent reads. */
export function nameIdQueries(p: ParsedSearch): [SQL, SQL] {
  return [
    sql`SELECT id, name FROM classes WHERE name IN (SELECT value FROM json_each(${JSON.stringify([...p.classNames, ...p.classNotNames])}))`,
    sql`SELECT id, name FROM tags WHERE name IN (SELECT value FROM json_each(${JSON.stringify([...p.tagNames, ...p.tagNotNames])}))`,
  ];
}

/** Filters with ids resolved: a positive name nobody uses makes the search match nothing. */
export function resolveFilters(p: ParsedSearch, classRows: { id: number; name: string }[], tagRows: { id: number; name: string }[]): Filters {
  const cls = new Map(classRows.map((r) => [r.name, r.id]));
  const tg = new Map(tagRows.map((r) => [r.name, r.id]));
  const known = (m: Map<string, number>, names: string[]) => names.map((n) => m.get(n)).filter((x): x is number => x !== undefined);
  const classIds = known(cls, p.classNames);
  const tagIds = known(tg, p.tagNames);
  return {
    ...p,
    classIds,
    classNotIds: known(cls, p.classNotNames),
    tagIds,
    tagNotIds: known(tg, p.tagNotNames),
    impossible: classIds.length < p.classNames.length || tagIds.length < p.tagNames.length,
  };
}

export async function parseFilters(db: Db, q: SearchParams, opts: { keepTagCase?: boolean } = {}): Promise<Filters> {
  const p = parseSearch(q, opts);
  const [c, t] = await runBatch(db.$client, nameIdQueries(p));
  return resolveFilters(p, c.results as { id: number; name: string }[], t.results as { id: number; name: string }[]);
}

export interface CandidateSet {
  id: number;
  datasetId: number;
  task: string;
}

/** The sets whose annotation rows can match: restricted by `sets` and by the task filters. */
export function candidateSets(sets: CandidateSet[], f: Filters): CandidateSet[] {
  return sets.filter(
    (s) => (!f.sets || f.sets.includes(s.id)) && (!f.task || s.task === f.task) && (!f.taskNot || s.task !== f.taskNot),
  );
}

const likeOf = (s: string) => `%${s.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

function nameConds(f: Filters, imageId: SQL): SQL[] {
  return f.imageNames.map(
    (n) => sql`EXISTS (SELECT 1 FROM images ni WHERE ni.id = ${imageId} AND ni.original_name LIKE ${likeOf(n)} ESCAPE '\\')`,
  );
}

/** Conditions on one (set, image) annotation row: every positive filter present, no negative one (AND within a set). */
function rowConds(setId: number, imageId: SQL, f: Filters, skipClass?: number, skipTag?: number): SQL[] {
  const c: SQL[] = [];
  for (const id of f.classIds)
    if (id !== skipClass) c.push(sql`EXISTS (SELECT 1 FROM annotation_classes x WHERE x.set_id = ${setId} AND x.class_id = ${id} AND x.image_id = ${imageId})`);
  for (const id of f.tagIds)
    if (id !== skipTag) c.push(sql`EXISTS (SELECT 1 FROM image_tags x WHERE x.set_id = ${setId} AND x.tag_id = ${id} AND x.image_id = ${imageId})`);
  for (const id of f.classNotIds)
    c.push(sql`NOT EXISTS (SELECT 1 FROM annotation_classes x WHERE x.set_id = ${setId} AND x.class_id = ${id} AND x.image_id = ${imageId})`);
  for (const id of f.tagNotIds) c.push(sql`NOT EXISTS (SELECT 1 FROM image_tags x WHERE x.set_id = ${setId} AND x.tag_id = ${id} AND x.image_id = ${imageId})`);
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
  const lim = limit === null ? sql`` : sql` LIMIT ${limit}`;
  const rng = (col: SQL) => (range ? sql` AND ${col} ${sql.raw(range.op)} ${range.id}` : sql``);
  if (f.classIds.length) {
    const col = sql`d.image_id`;
    return sql`SELECT DISTINCT d.image_id AS id, ${setId} AS set_id FROM annotation_classes d
      WHERE d.set_id = ${setId} AND d.class_id = ${f.classIds[0]}${rng(col)} AND ${and([...rowConds(setId, col, f, f.classIds[0]), ...nameConds(f, col)])}
      ORDER BY d.image_id ${order}${lim}`;
  }
  if (f.tagIds.length) {
    const col = sql`d.image_id`;
    return sql`SELECT d.image_id AS id, ${setId} AS set_id FROM image_tags d
      WHERE d.set_id = ${setId} AND d.tag_id = ${f.tagIds[0]}${rng(col)} AND ${and([...rowConds(setId, col, f, undefined, f.tagIds[0]), ...nameConds(f, col)])}
      ORDER BY d.image_id ${order}${lim}`;
  }
  const col = sql`d.image_id`;
  return sql`SELECT d.image_id AS id, ${setId} AS set_id FROM annotations d
    WHERE d.set_id = ${setId}${rng(col)} AND ${and([...rowConds(setId, col, f), ...nameConds(f, col)])}
    ORDER BY d.image_id ${order}${lim}`;
}

/**
 * Images with no annotation row in any set of the dataset: Remo's RIGHT JOIN gives them a NULL row, which
 * passes negative filters and image_name, but not positive ones, a task, or an explicit `sets` list.
 */
function unannotatedDriver(datasetId: number, f: Filters, range: Range, desc: boolean, limit: number | null): SQL {
  const order = sql.raw(desc ? "DESC" : "ASC");
  const lim = limit === null ? sql`` : sql` LIMIT ${limit}`;
  const rng = range ? sql` AND i.id ${sql.raw(range.op)} ${range.id}` : sql``;
  const names = f.imageNames.map((n) => sql`i.original_name LIKE ${likeOf(n)} ESCAPE '\\'`);
  return sql`SELECT i.id AS id, NULL AS set_id FROM images i
    WHERE i.dataset_id = ${datasetId}${rng} AND ${and(names)}
      AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = i.id)
    ORDER BY i.id ${order}${lim}`;
}

export interface SearchPlan {
  drivers: ((range: Range, desc: boolean, limit: number | null) => SQL)[];
}

export function planSearch(sets: CandidateSet[], f: Filters, allDatasetIds: number[]): SearchPlan {
  if (f.impossible) return { drivers: [] };
  const drivers: SearchPlan["drivers"] = sets.map((s) => (r, d, l) => setDriver(s.id, f, r, d, l));
  const nullRows = !f.classIds.length && !f.tagIds.length && !f.task && !f.taskNot && !f.sets;
  if (nullRows) for (const dsId of allDatasetIds) drivers.push((r, d, l) => unannotatedDriver(dsId, f, r, d, l));
  return { drivers };
}

export type SearchRow = { id: number; set_id: number | null };

/**
 * The page query (limit + 1 rows around the cursor) and, when a cursor is given, the query that says whether
 * matches exist before it: both are pure SQL, so callers batch them with the reads of the page's contents.
 */
export function searchQueries(plan: SearchPlan, f: Filters, limit: number, distinctImages: boolean): { page: SQL; before: SQL | null } | null {
  if (!plan.drivers.length) return null;
  const cur = f.cursor;
  const prev = cur?.direction === "prev";
  const range: Range = !cur ? null : cur.direction === "next" ? { op: ">", id: cur.imageId } : prev ? { op: "<", id: cur.imageId } : { op: ">=", id: cur.imageId };
  // Each driver is bounded by its own LIMIT, so a page reads at most (limit + 1) index entries per set.
  const union = (r: Range, desc: boolean, l: number) =>
    sql.join(
      plan.drivers.map((d) => sql`SELECT * FROM (${d(r, desc, l)})`),
      sql` UNION `,
    );
  const pick = distinctImages ? sql`DISTINCT id, NULL AS set_id` : sql`id, set_id`;
  const fetch = limit + 1;
  const beforeRange: Range = !cur || prev ? null : { op: "<", id: cur.direction === "next" ? cur.imageId + 1 : cur.imageId };
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

/** The number of distinct matching images (or rows) as one query; one class in one set reads its counter. */
export function countQuery(plan: SearchPlan, f: Filters, sets: CandidateSet[], distinctImages: boolean): SQL | null {
  if (!plan.drivers.length) return null;
  const onlyOneClass =
    sets.length === 1 && plan.drivers.length === 1 && f.classIds.length === 1 && !f.tagIds.length && !f.classNotIds.length && !f.tagNotIds.length && !f.imageNames.length;
  if (onlyOneClass)
    return sql`SELECT COALESCE((SELECT image_count FROM annotation_set_classes WHERE set_id = ${sets[0].id} AND class_id = ${f.classIds[0]}),
      (SELECT COUNT(DISTINCT image_id) FROM annotation_classes WHERE set_id = ${sets[0].id} AND class_id = ${f.classIds[0]})) AS n`;
  const union = sql.join(
    plan.drivers.map((d) => sql`SELECT * FROM (${d(null, false, null)})`),
    sql` UNION ALL `,
  );
  return distinctImages ? sql`SELECT COUNT(DISTINCT id) AS n FROM (${union})` : sql`SELECT COUNT(*) AS n FROM (${union})`;
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
export function passingEntries<T extends { annotation_set_id: number; classes: string[]; tags: string[] }>(entries: T[], sets: CandidateSet[], f: Filters): T[] {
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
