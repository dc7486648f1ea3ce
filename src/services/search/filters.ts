import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { runBatch } from "../../lib/d1";
import { ApiError } from "../../lib/errors";
import { normalizeClassName, normalizeTagName } from "../../lib/names";
import { parseTask, type TaskType } from "../../lib/task";

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

