/**
 * The `D1Database` interface over a Durable Object's own SQLite (`ctx.storage.sql`), so the services written for D1
 * (drizzle's D1 driver, `prepare().bind()`, `runBatch`) run unchanged inside a `DatasetStore`.
 *
 * Semantics follow D1 where the services depend on them:
 * - `batch()` is atomic: every statement runs inside one `transactionSync`, so a failure rolls all of them back
 *   (D1's batch is one transaction too). This is what makes "a write interrupted half-way leaves nothing" hold.
 * - `meta.changes` is the statement's own row count (0 for a read), `meta.last_row_id` SQLite's last rowid.
 * - Booleans bind as 1/0; `undefined` is refused as D1 refuses it (`D1_TYPE_ERROR`).
 * Differences: every call is synchronous SQL in the object, so there is no network round trip; `dump()` and
 * `withSession()` are not offered (no service uses them).
 */
type Bindable = string | number | null | ArrayBuffer;

/** A D1 value as SqlStorage accepts it. Source of the rules: D1's "Type conversion" table (Cloudflare docs). */
function toSqlValue(v: unknown, index: number): Bindable {
  if (v === null || typeof v === "string" || typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof ArrayBuffer) return v;
  if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
  throw new Error(`D1_TYPE_ERROR: Type '${typeof v}' not supported for value '${String(v)}' at position ${index + 1}`);
}

interface Executed {
  rows: Record<string, SqlStorageValue>[];
  columns: string[];
  raw: SqlStorageValue[][];
  changes: number;
  lastRowId: number;
  rowsRead: number;
  rowsWritten: number;
}

class SqlStatement {
  constructor(
    private readonly sql: SqlStorage,
    readonly query: string,
    private readonly params: Bindable[] = [],
  ) {}

  bind(...values: unknown[]): SqlStatement {
    return new SqlStatement(this.sql, this.query, values.map(toSqlValue));
  }

  /** Runs now, synchronously; `wantRaw` keeps rows as arrays (D1's `raw()`), which also keeps duplicate names. */
  execSync(wantRaw = false): Executed {
    const cursor = this.sql.exec(this.query, ...this.params);
    const columns = cursor.columnNames;
    let rows: Record<string, SqlStorageValue>[] = [];
    let raw: SqlStorageValue[][] = [];
    if (wantRaw) raw = [...cursor.raw()];
    else rows = cursor.toArray();
    const { rowsRead, rowsWritten } = cursor;
    // changes() is the last INSERT/UPDATE/DELETE's count, stale after a read: asked only when this statement wrote
    // (one statement more per write; a read, most of a page's statements, costs none). After a statement that wrote
    // nothing, last_row_id is 0: D1 would repeat the connection's stale id, which no caller reads.
    if (rowsWritten === 0) return { rows, columns, raw, changes: 0, lastRowId: 0, rowsRead, rowsWritten };
    const last = this.sql.exec<{ c: number; r: number }>("SELECT changes() AS c, last_insert_rowid() AS r").one();
    return { rows, columns, raw, changes: last.c, lastRowId: last.r, rowsRead, rowsWritten };
  }

  async first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
    const { rows } = this.execSync();
    const row = rows[0];
    if (!row) return null;
    if (column === undefined) return row as T;
    if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
    return row[column] as T;
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return toResult<T>(this.execSync());
  }

  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return toResult<T>(this.execSync());
  }

  async raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    const r = this.execSync(true);
    return (options?.columnNames ? [r.columns, ...r.raw] : r.raw) as T[];
  }
}

function toResult<T>(r: Executed): D1Result<T> {
  return {
    success: true,
    results: r.rows as T[],
    meta: {
      duration: 0,
      size_after: 0,
      rows_read: r.rowsRead,
      rows_written: r.rowsWritten,
      last_row_id: r.lastRowId,
      changed_db: r.changes > 0,
      changes: r.changes,
    },
  } as D1Result<T>;
}

/**
 * `D1Database` over `storage.sql`. `transactionSync` comes from the same `DurableObjectStorage`; it is what gives
 * `batch()` D1's all-or-nothing behaviour.
 */
export function sqlStorageAsD1(storage: DurableObjectStorage): D1Database {
  const sql = storage.sql;
  const db = {
    prepare: (query: string) => new SqlStatement(sql, query),
    async batch<T = unknown>(statements: SqlStatement[]): Promise<D1Result<T>[]> {
      return storage.transactionSync(() => statements.map((s) => toResult<T>(s.execSync())));
    },
    async exec(query: string): Promise<D1ExecResult> {
      // D1's exec runs several `;`-separated statements; SqlStorage.exec does the same.
      const cursor = sql.exec(query);
      cursor.toArray();
      return { count: 1, duration: 0 };
    },
    dump(): Promise<ArrayBuffer> {
      throw new Error("dump() is not offered by a DatasetStore");
    },
    withSession(): never {
      throw new Error("withSession() is not offered by a DatasetStore");
    },
  };
  return db as unknown as D1Database;
}
