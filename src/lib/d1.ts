import { sql, type SQL } from "drizzle-orm";
import { SQLiteAsyncDialect, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";

const dialect = new SQLiteAsyncDialect();

type Query = SQL | { toSQL(): { sql: string; params: unknown[] } };

/** A drizzle `sql` template or query builder as a D1 prepared statement. */
export function prepare(d1: D1Database, q: Query): D1PreparedStatement {
  const { sql, params } = "toSQL" in q ? q.toSQL() : dialect.sqlToQuery(q as SQL);
  return d1.prepare(sql).bind(...params);
}

/**
 * An atomic D1 batch of raw `sql` templates and/or builders. drizzle's own `db.batch()` cannot take `db.run(sql)`
 * items (it fails in its D1 session) and maps joined rows with duplicate column names wrongly, so writes that mix
 * raw SQL go through here.
 */
export function runBatch(d1: D1Database, items: Query[]): Promise<D1Result[]> {
  if (!items.length) return Promise.resolve([]);
  return d1.batch(items.map((q) => prepare(d1, q)));
}

/** True for a UNIQUE constraint violation, whether D1 raised it directly or drizzle wrapped it (`cause`). */
export function isUniqueViolation(e: unknown): boolean {
  for (let err = e as { message?: string; cause?: unknown } | undefined, i = 0; err && i < 5; err = err.cause as typeof err, i++) {
    if (String(err.message ?? err).includes("UNIQUE constraint failed")) return true;
  }
  return false;
}

// D1 caps LIKE/GLOB patterns at 50 bytes, so matches on user-supplied text use substr/instr instead.

/** `column` equals `name` or starts with `name (`: the candidates of nextFreeName(). */
export function nameOrSuffixed(column: SQL | AnySQLiteColumn, name: string): SQL {
  const prefix = `${name} (`;
  return sql`(${column} = ${name} OR substr(${column}, 1, length(${prefix})) = ${prefix})`;
}

/** Case-insensitive (ASCII, as SQLite's LIKE) "contains". */
export function containsCi(column: SQL | AnySQLiteColumn, needle: string): SQL {
  return sql`instr(lower(${column}), lower(${needle})) > 0`;
}

/** Case-insensitive (ASCII, as SQLite's LIKE) "starts with". */
export function startsWithCi(column: SQL | AnySQLiteColumn, prefix: string): SQL {
  return sql`lower(substr(${column}, 1, length(${prefix}))) = lower(${prefix})`;
}
