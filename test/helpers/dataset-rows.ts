import { env, runInDurableObject } from "cloudflare:test";
import { splitD1 } from "../../src/dataset-store/split-d1";
import { sqlStorageAsD1 } from "../../src/dataset-store/sql-d1";
import type { Env } from "../../src/env";

/**
 * Test setup and inspection of one dataset's own rows where that dataset lives (issue 13): D1, or its DatasetStore
 * when it was created in (or switched to) its object, as vitest.objects.config.ts runs the suite. Inside the object,
 * `fn` gets the same split `D1Database` the app gets there (src/dataset-store/split-d1.ts), so seeded rows follow
 * the app's own rules (mirrors pulled, set ids from D1's registry). The routes under test never go through here.
 */
export async function inDataset<T>(datasetId: number, fn: (db: D1Database, env: Env) => Promise<T>): Promise<T> {
  const store = await env.DB.prepare("SELECT store FROM datasets WHERE id = ?").bind(datasetId).first<string>("store");
  if (store !== "object") return fn(env.DB, env as unknown as Env);
  const stub = env.DATASETS.get(env.DATASETS.idFromName(String(datasetId)));
  return runInDurableObject(stub, (_instance, state) => {
    const db = splitD1(sqlStorageAsD1(state.storage), env.DB, datasetId);
    return fn(db, { ...(env as unknown as Env), DB: db, DATASET_STORE_ID: String(datasetId) });
  });
}

/** The dataset of annotation set `setId` (D1's set registry), or null. */
export async function datasetOfSet(setId: number): Promise<number | null> {
  return env.DB.prepare("SELECT dataset_id FROM annotation_sets WHERE id = ?").bind(setId).first<number>("dataset_id");
}

/**
 * Rows of `query` over one dataset's own tables (see inDataset), the dataset named directly or by one of its sets.
 * Read-only inspection for assertions.
 */
export async function datasetRows<T = Record<string, unknown>>(
  of: { datasetId: number } | { setId: number },
  query: string,
  ...params: unknown[]
): Promise<T[]> {
  const datasetId = "datasetId" in of ? of.datasetId : await datasetOfSet(of.setId);
  if (datasetId === null) return [];
  return inDataset(datasetId, async (db) => (await db.prepare(query).bind(...params).all<T>()).results);
}

interface ViewStatement {
  bind(...params: unknown[]): ViewStatement;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  first<T = Record<string, unknown>>(column?: string): Promise<T | null>;
}

/**
 * `env.DB.prepare(q).bind(…).all()/first()` for read-only assertions over one dataset's rows (datasetRows), so a
 * test reads the same way whether the dataset lives in D1 or in its DatasetStore.
 */
export function datasetView(of: { datasetId: number } | { setId: number }): { prepare(query: string): ViewStatement } {
  const statement = (query: string, params: unknown[]): ViewStatement => ({
    bind: (...p) => statement(query, p),
    all: async <T>() => ({ results: await datasetRows<T>(of, query, ...params) }),
    first: async <T>(column?: string) => {
      const [row] = await datasetRows<Record<string, unknown>>(of, query, ...params);
      return (row === undefined ? null : column === undefined ? row : row[column]) as T | null;
    },
  });
  return { prepare: (query) => statement(query, []) };
}

/** A statement of datasetD1: kept as SQL and parameters until it runs, then prepared where the dataset lives. */
class DatasetStatement {
  constructor(
    readonly datasetId: number,
    readonly query: string,
    readonly params: unknown[] = [],
  ) {}
  bind(...params: unknown[]) {
    return new DatasetStatement(this.datasetId, this.query, params);
  }
  on(db: D1Database): D1PreparedStatement {
    return db.prepare(this.query).bind(...this.params);
  }
  first<T>(column?: string) {
    return inDataset(this.datasetId, (db) => (column === undefined ? this.on(db).first<T>() : this.on(db).first<T>(column)));
  }
  all<T>() {
    return inDataset(this.datasetId, (db) => this.on(db).all<T>());
  }
  run<T>() {
    return inDataset(this.datasetId, (db) => this.on(db).run<T>());
  }
  raw<T>(options?: { columnNames?: boolean }): Promise<unknown[]> {
    return inDataset(this.datasetId, (db): Promise<unknown[]> =>
      options?.columnNames ? this.on(db).raw<T>({ columnNames: true }) : this.on(db).raw<T>(),
    );
  }
}

/**
 * A `D1Database` for service-level tests that call a service with a database directly: each statement or batch runs
 * where dataset `datasetId` lives (inDataset), so the same test drives D1 or the dataset's DatasetStore.
 */
export function datasetD1(datasetId: number): D1Database {
  return {
    prepare: (query: string) => new DatasetStatement(datasetId, query),
    batch: (statements: DatasetStatement[]) => inDataset(datasetId, (db) => db.batch(statements.map((s) => s.on(db)))),
    exec: (query: string) => inDataset(datasetId, (db) => db.exec(query)),
  } as unknown as D1Database;
}
