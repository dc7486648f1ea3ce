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
 * - `registry-write`: a write to `datasets` that names no dataset table (rename, visibility, licence, delete) → D1
 *   first (its unique (owner, name) index decides), then the same statement on the object's mirror row.
 * - `local-registry`: a write to `datasets` computed from the dataset's tables (the counters) → the object, then its
 *   counters are copied to D1's registry row, as absolute values, so a retry or a repair converges.
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
]);
/** Global tables the object mirrors in part; D1 owns them. */
const MIRRORS = new Set(["users", "classes", "tags"]);
const REGISTRY = "datasets";
/** Every table of the schema (src/db/schema). */
export const SCHEMA_TABLES = new Set(
  Object.values(schema)
    .filter((v) => is(v, SQLiteTable))
    .map((t) => getTableName(t as SQLiteTable)),
);
/** Every other table of the schema is control plane; names not in the schema (CTEs, json_each) are ignored. */
const CONTROL = new Set([...SCHEMA_TABLES].filter((t) => !DATASET_TABLES.has(t) && !MIRRORS.has(t) && t !== REGISTRY));

export type Route = "local" | "remote" | "mirror-write" | "registry-write" | "local-registry" | "mixed";

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
  if (target === REGISTRY) return own ? "local-registry" : "registry-write";
  if (target && MIRRORS.has(target)) return own ? "mixed" : target === "users" ? "remote" : "mirror-write";
  if (own) return "local";
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

class SplitStatement {
  readonly route: Route;

  constructor(
    private readonly db: SplitD1,
    readonly sql: string,
    readonly params: Bound = [],
  ) {
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

  first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
    return this.db.single(this, (st) => (column === undefined ? st.first<T>() : st.first<T>(column)));
  }
  all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.db.single(this, (st) => st.all<T>());
  }
  run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.db.single(this, (st) => st.run<T>());
  }
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    return this.db.single(this, (st) => (options?.columnNames ? st.raw<T>({ columnNames: true }) : st.raw<T>()) as Promise<T[]>);
  }
}

/** Names looked up per D1 read when a mirror catches up. */
const MIRROR_PAGE = 500;
/** Columns of the registry row that the dataset's own writes change; copied to D1 after such a write. */
const REGISTRY_COUNTERS = ["image_count", "size_in_bytes"] as const;

class SplitD1 {
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
        return run(st.on(this.local));
      case "remote":
        return run(st.on(this.remote));
      case "mirror-write": {
        const out = await run(st.on(this.remote));
        await this.syncMirrors([st]);
        return out;
      }
      case "registry-write": {
        const out = await run(st.on(this.remote));
        await st.on(this.local).run();
        return out;
      }
      case "local-registry": {
        const out = await run(st.on(this.local));
        await this.pushCounters();
        return out;
      }
    }
  }

  async batch<T = unknown>(statements: SplitStatement[]): Promise<D1Result<T>[]> {
    const routes = statements.map((s) => s.route);
    const mixed = statements.find((s) => s.route === "mixed");
    if (mixed) throw new MixedStatementError("statement", mixed.sql);
    const toRemote = (r: Route) => r === "remote" || r === "mirror-write" || r === "registry-write";
    const toLocal = (r: Route) => r === "local" || r === "local-registry" || r === "registry-write";
    if (routes.every((r) => r === "local")) return this.local.batch<T>(statements.map((s) => s.on(this.local)));
    if (routes.every((r) => r === "remote")) return this.remote.batch<T>(statements.map((s) => s.on(this.remote)));
    const chained = statements.find((s) => /\bchanges\s*\(\s*\)/i.test(s.sql));
    if (chained) throw new MixedStatementError("a batch that reads changes()", chained.sql);
    const remoteIdx = routes.flatMap((r, i) => (toRemote(r) ? [i] : []));
    const localIdx = routes.flatMap((r, i) => (toLocal(r) ? [i] : []));
    const results: D1Result<T>[] = new Array(statements.length);
    if (remoteIdx.length) {
      const out = await this.remote.batch<T>(remoteIdx.map((i) => statements[i].on(this.remote)));
      remoteIdx.forEach((i, k) => (results[i] = out[k]));
      if (routes.includes("mirror-write")) await this.syncMirrors(statements);
    }
    if (localIdx.length) {
      const out = await this.local.batch<T>(localIdx.map((i) => statements[i].on(this.local)));
      localIdx.forEach((i, k) => {
        if (routes[i] !== "registry-write") results[i] = out[k];
      });
      if (routes.includes("local-registry")) await this.pushCounters();
    }
    return results;
  }

  /**
   * Copies into the object's mirror the rows of `table` (classes or tags) that the just-run D1 writes `written`
   * may have created or found: every string bound to them, and every string in a bound JSON array, is looked up by
   * name. The mirror holds only the rows its dataset uses, so it is filled by name, not by id.
   */
  async syncMirror(table: string, written: SplitStatement[]): Promise<void> {
    const names = new Set<string>();
    for (const st of written)
      for (const p of st.params) {
        if (typeof p !== "string") continue;
        names.add(p);
        if (p.startsWith("[")) {
          try {
            const arr: unknown = JSON.parse(p);
            if (Array.isArray(arr)) for (const v of arr) if (typeof v === "string") names.add(v);
          } catch {
            // not JSON: the string itself was looked up
          }
        }
      }
    const all = [...names];
    for (let i = 0; i < all.length; i += MIRROR_PAGE) {
      const rows = await this.remote
        .prepare(`SELECT id, name, created_at FROM ${table} WHERE name IN (SELECT value FROM json_each(?1))`)
        .bind(JSON.stringify(all.slice(i, i + MIRROR_PAGE)))
        .raw<[number, string, string]>();
      if (rows.length)
        await this.local.batch(
          rows.map((r) => this.local.prepare(`INSERT INTO ${table} (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING`).bind(...r)),
        );
    }
  }

  async syncMirrors(written: SplitStatement[]): Promise<void> {
    for (const table of ["classes", "tags"]) {
      const mine = written.filter((st) => st.route === "mirror-write" && WRITE_TARGET.exec(st.sql)?.[1]?.toLowerCase() === table);
      if (mine.length) await this.syncMirror(table, mine);
    }
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
