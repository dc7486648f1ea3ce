/**
 * The `D1Database` the app sees while it runs inside a dataset's DatasetStore (issue 13): each statement goes to the
 * object's own SQLite or to D1 by the tables it names, so the services written for D1 run unchanged on a moved
 * dataset. The rule is src/dataset-store/tables.ts's dividing line; docs/dataset-store-audit.md lists every
 * statement the services issue by the class it falls in here.
 *
 * - `local`: only the dataset's own tables (folders, images, annotation sets and their rows, image tags), maybe
 *   joined with the mirrors (users, classes, tags, the dataset's registry row) → the object.
 * - `remote`: no dataset table: the control plane (api keys, uploads, jobs, blob GC), and reads of the registry or
 *   the global class and tag lists, which the mirrors hold only in part → D1. The one exception is a read of the
 *   dataset's own registry row by id (the access check), which the object's copy of the row answers.
 * - `mirror-write`: a write to the global `classes` or `tags` → D1 (which allocates the ids), then the object's
 *   mirror copies the rows with the names the write was given (classes and tags are never renamed).
 * - `mirror-read`: a read of `classes`/`tags` alone (ids by name) → the object's mirror, once the names it binds
 *   are pulled from D1. Local statements that bind names and join those tables get the same pull first.
 * - `registry-write`: a write to `datasets` that names no dataset table (rename, visibility, licence, delete) → D1
 *   first (its unique (owner, name) index decides), then the same statement on the object's mirror row.
 * - `local-registry`: a write to `datasets` computed from the dataset's tables, or chained on `changes()` after a
 *   write to them (the counters) → the object, then its counters are copied to D1's registry row, as absolute
 *   values, so a retry or a repair converges.
 * - `set-insert`, `set-rename`, `set-delete`: D1's `annotation_sets` stays the set registry (ids are global in
 *   Remo's API, and locate.ts finds a set's dataset there). A new set is inserted in D1 first (its id and its unique
 *   name are decided there; the statement must say RETURNING) and then, with that id, in the object; a rename goes
 *   to D1 first, then the object; a delete runs in the object, then in D1. D1's copy of a set's counters and
 *   timestamps is not kept (nothing reads them for a moved dataset).
 * - `mixed`: a dataset table and a control table in one statement → refused with an error naming the statement.
 *   These are the audit's class C; each needs a rewrite before its route can run on a moved dataset.
 *
 * A batch whose statements all go one way runs as one transaction there. A mixed batch runs its D1 part first
 * (in order, one D1 batch), then its object part (one transaction): two transactions, not one. It is refused when
 * any member reads `changes()`, which cannot cross from one database to the other (the audit's class D).
 */
import { getTableName, is } from "drizzle-orm";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "../db/schema";
import { ApiError } from "../lib/errors";

/** Tables whose rows belong to one dataset and live in its object. */
export const DATASET_TABLES = new Set([
  "folders",
  "images",
  "annotation_sets",
  "annotation_set_classes",
  "annotations",
  "annotation_objects",
  "annotation_classes",
  "image_tags",
  "folder_image_counts",
  "set_tag_counts",
]);
/** Dataset tables that SQLite's triggers keep from the others (migrations/0006, 0007), so a copy never moves their rows. */
export const TRIGGER_KEPT_TABLES = new Set(["folder_image_counts", "set_tag_counts"]);
/** Global tables the object mirrors in part; D1 owns them. */
const MIRRORS = new Set(["users", "classes", "tags"]);
const REGISTRY = "datasets";
const SET_REGISTRY = "annotation_sets";
/** The mirrors a statement's names are pulled into from D1 before it reads them (users is read on D1 only). */
const PULLED = new Set(["classes", "tags"]);
/** Every table of the schema (src/db/schema). */
export const SCHEMA_TABLES = new Set(
  Object.values(schema)
    .filter((v) => is(v, SQLiteTable))
    .map((t) => getTableName(t as SQLiteTable)),
);
/** Every other table of the schema is control plane; names not in the schema (CTEs, json_each) are ignored. */
const CONTROL = new Set([...SCHEMA_TABLES].filter((t) => !DATASET_TABLES.has(t) && !MIRRORS.has(t) && t !== REGISTRY));

export type Route =
  | "local"
  | "remote"
  | "mirror-read"
  | "mirror-write"
  | "registry-write"
  | "local-registry"
  | "set-insert"
  | "set-rename"
  | "set-delete"
  | "mixed";

const IMAGE_INSERT = /^\s*insert\b[^(]*?\binto\s+"?images"?\s*\(/i;
const IMAGE_INSERT_WITH_ID = /^\s*insert\b[^(]*?\binto\s+"?images"?\s*\(\s*"?id"?\s*,/i;
const CHAINED = /\bchanges\s*\(\s*\)/i;
const IGNORES_CONFLICTS = /^\s*insert\s+or\s+ignore\b|\bon\s+conflict\b(?:\s*\([^)]*\))?\s+do\s+nothing\b/i;
const TABLE_REF = /\b(?:from|join|into|update)\s+[`"]?([a-z_][a-z0-9_]*)/gi;
const WRITE_TARGET = /\b(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+[`"]?([a-z_][a-z0-9_]*)/i;

/** The tables a statement names (FROM, JOIN, INTO, UPDATE), lower-cased. */
export function tablesOf(sql: string): Set<string> {
  const out = new Set<string>();
  for (const m of sql.matchAll(TABLE_REF)) out.add(m[1].toLowerCase());
  return out;
}

/** Where statement `sql` runs (see the file's comment). Pure; the same SQL always routes the same way. */
export function routeOf(sql: string): Route {
  const tables = tablesOf(sql);
  const target = WRITE_TARGET.exec(sql)?.[1]?.toLowerCase();
  const own = [...tables].some((t) => DATASET_TABLES.has(t));
  const control = [...tables].some((t) => CONTROL.has(t));
  if (own && control) return "mixed";
  // A registry write chained on changes() follows a write to the dataset's own rows (the ingest's counters): local.
  if (target === REGISTRY) return own || CHAINED.test(sql) ? "local-registry" : "registry-write";
  // D1's annotation_sets is the set registry (locate.ts): ids are allocated there, names are unique there.
  if (target === SET_REGISTRY) {
    if (/^\s*insert\b/i.test(sql)) return "set-insert";
    if (/^\s*delete\b/i.test(sql)) return "set-delete";
    if (/^\s*update\b[\s\S]*?\bset\b[\s\S]*?"?\bname"?\s*=/i.test(sql)) return "set-rename";
  }
  if (target && MIRRORS.has(target)) return own ? "mixed" : target === "users" ? "remote" : "mirror-write";
  if (own) return "local";
  const pulled = [...tables].some((t) => PULLED.has(t));
  if (!target && pulled && [...tables].every((t) => PULLED.has(t) || !SCHEMA_TABLES.has(t))) return "mirror-read";
  // A statement that names no table at all (SELECT 1) costs nothing where it is: keep it in the object.
  if (!control && !tables.has(REGISTRY) && ![...tables].some((t) => MIRRORS.has(t))) return "local";
  return "remote";
}

/**
 * A statement or batch the split cannot run: 501, naming the statement's start, so the client gets a clear answer
 * and the operator a log line, never a half-run batch (a batch is checked before any of it runs).
 */
const OWN_ROW = /^\s*select\b[^;]*\bfrom\s+"?datasets"?\s+where\s+("?datasets"?\.)?"?id"?\s*=\s*\?1?(\s+limit\s+\?\d*)?\s*$/i;

/**
 * True for a read of this dataset's own registry row alone (the access check: `SELECT … FROM datasets WHERE id = ?`
 * bound to `datasetId`). The object's copy of that row answers it: every write to the row while the dataset is in
 * its object goes through the object (registry-write, local-registry), so the copy differs from D1's only in
 * `store`, which no service reads.
 */
export function ownRegistryRead(sql: string, params: Bound, datasetId: number): boolean {
  return OWN_ROW.test(sql) && params[0] === datasetId && tablesOf(sql).size === 1;
}

export class MixedStatementError extends ApiError {
  constructor(what: string, sql: string) {
    super(
      "NOT_IMPLEMENTED",
      `Not yet available on a dataset moved to its own store: ${what} spans D1 and the store (${sql.replace(/\s+/g, " ").slice(0, 120)})`,
    );
    this.name = "MixedStatementError";
  }
}

type Bound = unknown[];

/** The strings bound to a statement, and the strings inside any bound JSON array: the names it may look up. */
export function namesIn(params: Bound): string[] {
  const names: string[] = [];
  for (const p of params) {
    if (typeof p !== "string") continue;
    let arr: unknown = null;
    if (p.startsWith("[")) {
      try {
        arr = JSON.parse(p);
      } catch {
        // not JSON: the string itself is looked up
      }
    }
    // A JSON array is a list bound as one parameter: its strings are the names (an array of ids names nothing);
    // arrays of objects ({name: …}) hold names too (save-annotation's links).
    if (!Array.isArray(arr)) names.push(p);
    else
      for (const v of arr) {
        if (typeof v === "string") names.push(v);
        else if (v && typeof v === "object" && typeof (v as { name?: unknown }).name === "string") names.push((v as { name: string }).name);
      }
  }
  return names;
}

class SplitStatement {
  readonly route: Route;

  constructor(
    private readonly db: SplitD1,
    readonly sql: string,
    readonly params: Bound = [],
  ) {
    // An image's id says where it is (locate.ts): the object's own AUTOINCREMENT would hand out ids that no range
    // names, or that another dataset holds. Every insert names an id reserved with withImageIds (image-ingest.ts).
    if (IMAGE_INSERT.test(sql) && !IMAGE_INSERT_WITH_ID.test(sql))
      throw new MixedStatementError("an image insert without a reserved id", sql);
    const route = routeOf(sql);
    this.route = route === "remote" && ownRegistryRead(sql, params, db.datasetId) ? "local" : route;
  }

  bind(...values: unknown[]): SplitStatement {
    return new SplitStatement(this.db, this.sql, values);
  }

  on(d1: D1Database): D1PreparedStatement {
    const st = d1.prepare(this.sql);
    return this.params.length ? st.bind(...this.params) : st;
  }

  async first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
    if (this.route === "set-insert") {
      const row = (await this.db.insertSet(this)).objects[0];
      return (row === undefined ? null : column === undefined ? row : row[column]) as T | null;
    }
    return this.db.single(this, (st) => (column === undefined ? st.first<T>() : st.first<T>(column)));
  }
  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    if (this.route === "set-insert") return (await this.db.insertSet(this)).result as D1Result<T>;
    return this.db.single(this, (st) => st.all<T>());
  }
  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    if (this.route === "set-insert") return (await this.db.insertSet(this)).result as D1Result<T>;
    return this.db.single(this, (st) => st.run<T>());
  }
  async raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    if (this.route === "set-insert") {
      const { columns, rows } = await this.db.insertSet(this);
      return (options?.columnNames ? [columns, ...rows] : rows) as T[];
    }
    return this.db.single(this, (st) => (options?.columnNames ? st.raw<T>({ columnNames: true }) : st.raw<T>()) as Promise<T[]>);
  }
}

/** Names looked up per D1 read when a mirror catches up. */
const MIRROR_PAGE = 500;
/** Columns of the registry row that the dataset's own writes change; copied to D1 after such a write. */
const REGISTRY_COUNTERS = ["image_count", "size_in_bytes"] as const;

class SplitD1 {
  /** `table NUL name` pairs this request has found in the mirror or asked D1 for (see pullMirrors). */
  readonly #asked = new Set<string>();

  constructor(
    readonly local: D1Database,
    readonly remote: D1Database,
    readonly datasetId: number,
  ) {}

  prepare(sql: string): SplitStatement {
    return new SplitStatement(this, sql);
  }

  async single<R>(st: SplitStatement, run: (s: D1PreparedStatement) => Promise<R>): Promise<R> {
    switch (st.route) {
      case "mixed":
        throw new MixedStatementError("statement", st.sql);
      case "local":
      case "mirror-read":
        await this.pullMirrors([st]);
        return run(st.on(this.local));
      case "remote":
        return run(st.on(this.remote));
      case "mirror-write": {
        if (await this.heldMirrorWrite(st)) return run(st.on(this.local));
        this.#asked.clear(); // the write may create names this request found missing
        const out = await run(st.on(this.remote));
        await this.pullMirrors([st]);
        return out;
      }
      case "registry-write":
      case "set-rename": {
        const out = await run(st.on(this.remote));
        await st.on(this.local).run();
        return out;
      }
      case "set-delete": {
        const out = await run(st.on(this.local));
        await st.on(this.remote).run();
        return out;
      }
      case "set-insert":
        throw new Error("unreachable: set inserts run through insertSet");
      case "local-registry": {
        const out = await run(st.on(this.local));
        await this.pushCounters();
        return out;
      }
    }
  }

  async batch<T = unknown>(statements: SplitStatement[]): Promise<D1Result<T>[]> {
    // A mirror write that would change nothing in D1 runs in the object alone (heldMirrorWrite).
    const routes: Route[] = [];
    for (const s of statements) routes.push(s.route === "mirror-write" && (await this.heldMirrorWrite(s)) ? "local" : s.route);
    const mixed = statements.find((s) => s.route === "mixed" || s.route === "set-insert");
    if (mixed) throw new MixedStatementError(mixed.route === "mixed" ? "statement" : "an annotation set insert in a batch", mixed.sql);
    const toRemote = (r: Route) => r === "remote" || r === "mirror-write" || r === "registry-write" || r === "set-rename";
    const toLocal = (r: Route) =>
      r === "local" || r === "mirror-read" || r === "local-registry" || r === "registry-write" || r === "set-rename" || r === "set-delete";
    if (routes.every((r) => r === "remote")) return this.remote.batch<T>(statements.map((s) => s.on(this.remote)));
    if (routes.every((r) => r === "local" || r === "mirror-read" || r === "local-registry")) {
      await this.pullMirrors(statements);
      const out = await this.local.batch<T>(statements.map((s) => s.on(this.local)));
      if (routes.includes("local-registry")) await this.pushCounters();
      return out;
    }
    const chained = statements.find((s) => CHAINED.test(s.sql));
    if (chained) throw new MixedStatementError("a batch that reads changes()", chained.sql);
    const remoteIdx = routes.flatMap((r, i) => (toRemote(r) ? [i] : []));
    const localIdx = routes.flatMap((r, i) => (toLocal(r) ? [i] : []));
    const results: D1Result<T>[] = new Array(statements.length);
    if (remoteIdx.length) {
      if (remoteIdx.some((i) => routes[i] === "mirror-write")) this.#asked.clear();
      const out = await this.remote.batch<T>(remoteIdx.map((i) => statements[i].on(this.remote)));
      remoteIdx.forEach((i, k) => (results[i] = out[k]));
    }
    // After the D1 part: the names it created are in D1 by now, and are pulled with the ones the local part reads.
    await this.pullMirrors(statements);
    if (localIdx.length) {
      const out = await this.local.batch<T>(localIdx.map((i) => statements[i].on(this.local)));
      localIdx.forEach((i, k) => {
        if (routes[i] !== "registry-write" && routes[i] !== "set-rename") results[i] = out[k];
      });
      if (routes.includes("local-registry")) await this.pushCounters();
      const deletes = statements.filter((st) => st.route === "set-delete");
      if (deletes.length) await this.remote.batch(deletes.map((st) => st.on(this.remote)));
    }
    return results;
  }

  /**
   * Copies into the object's mirrors the `classes` and `tags` rows that `statements` may name: every string bound
   * to a statement that reads or writes them, and every string in a bound JSON array, is looked up by name in D1 (one
   * D1 batch for all of them; none when no such statement binds a string). The mirror holds only the rows its
   * dataset uses or has asked about, so it is filled by name, not by id; a statement that then joins `classes` by
   * name in the object sees what D1 would (classes and tags are never renamed or deleted).
   *
   * Since a row never changes once it exists, a name the mirror already holds is not asked again; nor is a name D1
   * did not have when this request already asked, until this request sends a write to D1's classes or tags.
   * So a search or a save naming classes the dataset uses costs no D1 round trip.
   */
  async pullMirrors(statements: SplitStatement[]): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const st of statements) {
      if (st.route !== "local" && st.route !== "mirror-read" && st.route !== "mirror-write") continue;
      const tables = [...tablesOf(st.sql)].filter((t) => PULLED.has(t));
      if (!tables.length) continue;
      const names = namesIn(st.params);
      for (const t of tables) for (const n of names) if (!this.#asked.has(`${t}\u0000${n}`)) (wanted.get(t) ?? wanted.set(t, new Set()).get(t)!).add(n);
    }
    if (!wanted.size) return;
    const held = await this.local.batch<{ t: string; name: string }>(
      [...wanted].map(([table, names]) =>
        this.local.prepare(`SELECT '${table}' AS t, name FROM ${table} WHERE name IN (SELECT value FROM json_each(?1))`).bind(JSON.stringify([...names])),
      ),
    );
    for (const [table, names] of wanted) for (const n of names) this.#asked.add(`${table}\u0000${n}`);
    for (const r of held) for (const row of r.results) wanted.get(row.t)!.delete(row.name);
    const lookups: { table: string; st: D1PreparedStatement }[] = [];
    for (const [table, names] of wanted) {
      const all = [...names];
      for (let i = 0; i < all.length; i += MIRROR_PAGE)
        lookups.push({
          table,
          st: this.remote
            .prepare(`SELECT id, name, created_at FROM ${table} WHERE name IN (SELECT value FROM json_each(?1))`)
            .bind(JSON.stringify(all.slice(i, i + MIRROR_PAGE))),
        });
    }
    if (!lookups.length) return;
    const found = await this.remote.batch<{ id: number; name: string; created_at: string }>(lookups.map((l) => l.st));
    const upserts = found.flatMap((r, k) =>
      r.results.map((row) =>
        this.local
          .prepare(`INSERT INTO ${lookups[k].table} (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING`)
          .bind(row.id, row.name, row.created_at),
      ),
    );
    if (upserts.length) await this.local.batch(upserts);
  }

  /**
   * True for a write to D1's `classes` or `tags` that would change nothing there: an insert that ignores conflicts
   * (`INSERT OR IGNORE`, `ON CONFLICT … DO NOTHING`) whose every bound name the mirror already holds. Rows are never
   * renamed or deleted and the mirror holds only rows D1 has, so each such row conflicts in D1 and the insert is a
   * no-op there; run in the object instead (where it is the same no-op, with the same empty answer), it saves the
   * D1 round trip a save-annotation naming known classes made every time. Anything else (a name the mirror lacks,
   * no bound name, an update) goes to D1.
   */
  async heldMirrorWrite(st: SplitStatement): Promise<boolean> {
    if (!IGNORES_CONFLICTS.test(st.sql)) return false;
    const target = WRITE_TARGET.exec(st.sql)?.[1]?.toLowerCase();
    if (!target || !PULLED.has(target) || !/^\s*insert\b/i.test(st.sql)) return false;
    const names = [...new Set(namesIn(st.params))];
    if (!names.length) return false;
    const held = await this.local
      .prepare(`SELECT count(*) AS n FROM ${target} WHERE name IN (SELECT value FROM json_each(?1))`)
      .bind(JSON.stringify(names))
      .first<number>("n");
    if (held !== names.length) return false;
    // Held, so the pull that follows has nothing to ask about them.
    for (const n of names) this.#asked.add(`${target}\u0000${n}`);
    return true;
  }

  /**
   * A new annotation set: inserted in D1 first (RETURNING gives the row with the id D1 chose, and D1's unique
   * (dataset, name) index refuses a duplicate before anything is written here), then the same row, id included,
   * in the object. If the object refuses it, the D1 row is removed again, so the registry never names a set the
   * object lacks.
   */
  async insertSet(st: SplitStatement): Promise<{ columns: string[]; rows: unknown[][]; objects: Record<string, unknown>[]; result: D1Result }> {
    if (!/\breturning\b/i.test(st.sql)) throw new MixedStatementError("an annotation set insert without RETURNING", st.sql);
    const [columns, ...rows] = (await st.on(this.remote).raw({ columnNames: true })) as [string[], ...unknown[][]];
    const all = (await this.remote
      .prepare(`SELECT * FROM ${SET_REGISTRY} WHERE id IN (SELECT value FROM json_each(?1))`)
      .bind(JSON.stringify(rows.map((r) => r[columns.indexOf("id")])))
      .all<Record<string, unknown>>()).results;
    try {
      if (all.length)
        await this.local.batch(
          all.map((row) => {
            const cols = Object.keys(row);
            return this.local
              .prepare(`INSERT INTO ${SET_REGISTRY} (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map((_, i) => `?${i + 1}`).join(", ")})`)
              .bind(...cols.map((c) => row[c]));
          }),
        );
    } catch (e) {
      await this.remote.prepare(`DELETE FROM ${SET_REGISTRY} WHERE id IN (SELECT value FROM json_each(?1))`).bind(JSON.stringify(all.map((r) => r.id))).run();
      throw e;
    }
    const objects = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
    const result = { success: true, results: objects, meta: { changes: rows.length, last_row_id: Number(objects.at(-1)?.id ?? 0) } } as unknown as D1Result;
    return { columns, rows, objects, result };
  }

  /** Copies the registry counters of this dataset from the object to D1, as absolute values. */
  async pushCounters(): Promise<void> {
    const row = await this.local
      .prepare(`SELECT ${REGISTRY_COUNTERS.join(", ")} FROM datasets WHERE id = ?1`)
      .bind(this.datasetId)
      .first<Record<string, number>>();
    if (!row) return;
    await this.remote
      .prepare(`UPDATE datasets SET ${REGISTRY_COUNTERS.map((c, i) => `${c} = ?${i + 2}`).join(", ")} WHERE id = ?1`)
      .bind(this.datasetId, ...REGISTRY_COUNTERS.map((c) => row[c]))
      .run();
  }

  async exec(query: string): Promise<D1ExecResult> {
    if (routeOf(query) !== "remote") throw new MixedStatementError("exec()", query);
    return this.remote.exec(query);
  }

  dump(): Promise<ArrayBuffer> {
    throw new Error("dump() is not offered by a DatasetStore");
  }
  withSession(): never {
    throw new Error("withSession() is not offered by a DatasetStore");
  }
}

/**
 * `D1Database` for the app inside the DatasetStore of dataset `datasetId`: `local` is the object's SQLite
 * (sqlStorageAsD1), `remote` the D1 binding. Throws MixedStatementError (a 500, logged with the statement) for
 * statements and batches that cannot be split; see the file's comment.
 */
export function splitD1(local: D1Database, remote: D1Database, datasetId: number): D1Database {
  return new SplitD1(local, remote, datasetId) as unknown as D1Database;
}
