import { env, runInDurableObject } from "cloudflare:test";
import { splitD1 } from "../../src/dataset-store/split-d1";
import { sqlStorageAsD1 } from "../../src/dataset-store/sql-d1";
import type { Env } from "../../src/env";
import { withImageIds } from "../../src/services/ingest/image-ingest";

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

/** Rows of `query` over one dataset's own tables (see inDataset), the dataset named directly or by one of its sets. */
export async function datasetRows<T = Record<string, unknown>>(
  of: DatasetRef,
  query: string,
  ...params: unknown[]
): Promise<T[]> {
  return (
    await datasetD1(of)
      .prepare(query)
      .bind(...params)
      .all<T>()
  ).results;
}

/** A dataset named directly, or by one of its annotation sets. */
export type DatasetRef = number | { datasetId: number } | { setId: number };

/** Runs `fn` where the dataset `of` lives (inDataset); a set D1's registry does not know runs on D1, and finds nothing. */
async function inDatasetOf<T>(of: DatasetRef, fn: (db: D1Database, env: Env) => Promise<T>): Promise<T> {
  const datasetId = typeof of === "number" ? of : "datasetId" in of ? of.datasetId : await datasetOfSet(of.setId);
  return datasetId === null ? fn(env.DB, env as unknown as Env) : inDataset(datasetId, fn);
}

/** A statement of datasetD1: kept as SQL and parameters until it runs, then prepared where the dataset lives. */
class DatasetStatement {
  constructor(
    readonly of: DatasetRef,
    readonly query: string,
    readonly params: unknown[] = [],
  ) {}
  bind(...params: unknown[]) {
    return new DatasetStatement(this.of, this.query, params);
  }
  on(db: D1Database): D1PreparedStatement {
    return db.prepare(this.query).bind(...this.params);
  }
  first<T>(column?: string) {
    return inDatasetOf(this.of, (db) => (column === undefined ? this.on(db).first<T>() : this.on(db).first<T>(column)));
  }
  all<T>() {
    return inDatasetOf(this.of, (db) => this.on(db).all<T>());
  }
  run<T>() {
    return inDatasetOf(this.of, (db) => this.on(db).run<T>());
  }
  raw<T>(options?: { columnNames?: boolean }): Promise<unknown[]> {
    return inDatasetOf(this.of, (db): Promise<unknown[]> =>
      options?.columnNames ? this.on(db).raw<T>({ columnNames: true }) : this.on(db).raw<T>(),
    );
  }
}

/**
 * A `D1Database` whose every statement or batch runs where dataset `of` lives (inDataset): for service-level tests
 * that call a service with a database directly, and for assertions over a dataset's rows
 * (`datasetD1({ setId }).prepare(q).bind(…).all()`), so the same test drives D1 or the dataset's DatasetStore.
 */
export function datasetD1(of: DatasetRef): D1Database {
  return {
    prepare: (query: string) => new DatasetStatement(of, query),
    batch: (statements: DatasetStatement[]) => inDatasetOf(of, (db) => db.batch(statements.map((s) => s.on(db)))),
    exec: (query: string) => inDatasetOf(of, (db) => db.exec(query)),
  } as unknown as D1Database;
}

/**
 * Writes `n` new image rows of dataset `datasetId` where it lives, with the ids they would get there: `write(db, ids)`
 * gets `n` ids reserved from the dataset's block in its DatasetStore (withImageIds, as the ingest takes them; the ids
 * are consecutive), or `n` nulls in D1 (AUTOINCREMENT). In an object, `blobKeys` (the R2 keys the rows point at) are
 * referenced in D1's blob_refs first, as the ingest does. Returns what `write` returns.
 */
export async function insertImagesWhereTheyLive<T>(
  datasetId: number,
  n: number,
  write: (db: D1Database, ids: (number | null)[]) => Promise<T>,
  opts: { blobKeys?: string[] } = {},
): Promise<T> {
  return inDataset(datasetId, async (db, e) => {
    if (!e.DATASET_STORE_ID) return write(db, new Array(n).fill(null));
    if (opts.blobKeys?.length)
      await db
        .prepare("INSERT OR IGNORE INTO blob_refs (r2_key, dataset_id) SELECT value, ? FROM json_each(?)")
        .bind(datasetId, JSON.stringify(opts.blobKeys))
        .run();
    return withImageIds(e, datasetId, n, (ids) => write(db, ids));
  });
}
