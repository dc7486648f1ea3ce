import { DurableObject } from "cloudflare:workers";
import { drizzle as drizzleDurable } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { createDb, type Db } from "../db/client";
import type { Env } from "../env";
import migrations from "./migrations";
import { buildApp } from "../app";
import { topClassesByDataset, type ClassCount } from "../services/annotations/statistics";
import { contentsAnnotations } from "../services/annotations/image-annotations";
import type { ServiceCtx } from "../services/context";
import { firstImages, type FirstImage } from "../services/datasets";
import type { CandidateSet, Filters } from "../services/search/filters";
import { planSearch, runSearch } from "../services/search/search";
import { imageRows } from "../services/search/views";
import { handlers, type JobHandler, type JobMeta } from "../jobs/handlers";
import { errorBody } from "../lib/errors";
import type { JobMessage, JobType } from "../jobs/messages";
import { STORE_DATASET_HEADER } from "./forward";
import { FolderImageLists } from "./contents-pages";
import { splitD1 } from "./split-d1";
import { sqlStorageAsD1 } from "./sql-d1";
import { STORE_TABLES, storeTable } from "./tables";

/** Rows as the copy moves them: column names once, then one array of values per row (rowid first). */
export interface RowChunk {
  columns: string[];
  rows: (string | number | null)[][];
}

export interface StoreCounts {
  /** Rows per table of the dataset's own data (mirrors of global rows excluded). */
  tables: Record<string, number>;
  /** `storage.sql.databaseSize`: bytes the object's SQLite occupies. */
  bytes: number;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * One dataset's rows in a SQLite-backed Durable Object (issue 13), addressed by `idFromName(String(datasetId))`.
 *
 * The schema is D1's own (migrations/, bundled as ./migrations.ts and applied by drizzle's durable-sqlite migrator),
 * so the services written for D1 run on `this.db` unchanged while datasets move over one by one.
 *
 * Storage is created lazily: the constructor migrates only an object that already has a schema, and only a write
 * (`importRows`) provisions one. A read of an object that was never written returns empty answers and leaves no
 * storage behind, so probing a dataset id that does not exist costs nothing. Deleting the dataset calls `destroy()`,
 * which is `storage.deleteAll()`.
 */
export class DatasetStore extends DurableObject<Env> {
  #db: Db | null = null;
  #app: ReturnType<typeof buildApp> | null = null;
  /** Contents pages without OFFSET; valid across requests because this object is its SQLite's only writer. */
  #pages: FolderImageLists;
  /** Known once true, until destroy(): every request asks, and only a migration or deleteAll changes the answer. */
  #provisioned = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#pages = new FolderImageLists(ctx.storage.sql);
    if (this.#hasSchema()) void ctx.blockConcurrencyWhile(() => this.#migrate());
  }

  #hasSchema(): boolean {
    this.#provisioned ||=
      this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").toArray().length > 0;
    return this.#provisioned;
  }

  async #migrate(): Promise<void> {
    await migrate(drizzleDurable(this.ctx.storage), migrations);
  }

  /** The services' `Db` over this object's SQLite (provisioning it first when `provision` is true). */
  async #database(provision: boolean): Promise<Db | null> {
    if (this.#db) return this.#db;
    if (!this.#hasSchema()) {
      if (!provision) return null;
      await this.#migrate();
    }
    this.#db = createDb(sqlStorageAsD1(this.ctx.storage));
    return this.#db;
  }

  /** True once anything was written (the schema exists). Never creates storage. */
  isProvisioned(): boolean {
    return this.#hasSchema();
  }

  /**
   * Inserts copied rows into `table` in one transaction, keeping their D1 rowids (so ids seen by API clients do
   * not change). Rows already present (same rowid or unique key) are skipped, so a copy that is retried or resumed
   * never duplicates. Foreign keys are checked at commit, so a chunk may hold a child before its parent.
   * @returns the number of rows inserted.
   * @throws on an unknown table or column name, or a row whose width differs from `columns`.
   */
  async importRows(table: string, chunk: RowChunk): Promise<number> {
    storeTable(table);
    const { columns, rows } = chunk;
    if (!rows.length) return 0;
    if (columns[0] !== "__rowid" || !columns.every((c) => IDENT.test(c))) throw new Error(`bad columns for ${table}`);
    await this.#database(true);
    const names = ["rowid", ...columns.slice(1)].map((c) => `"${c}"`).join(", ");
    const query = `INSERT INTO "${table}" (${names}) VALUES (${columns.map(() => "?").join(", ")}) ON CONFLICT DO NOTHING`;
    const sql = this.ctx.storage.sql;
    return this.ctx.storage.transactionSync(() => {
      sql.exec("PRAGMA defer_foreign_keys = ON");
      let inserted = 0;
      for (const row of rows) {
        if (row.length !== columns.length) throw new Error(`row width ${row.length} != ${columns.length} in ${table}`);
        inserted += sql.exec(query, ...row).rowsWritten > 0 ? 1 : 0;
      }
      return inserted;
    });
  }

  /**
   * Where a resumed copy starts again: for each table (and, for per-set tables, each of `setIds`), the keyset
   * position (./tables.ts `key`) of the last row this object holds, or null when it holds none of them. Keyed by
   * `table` or `table:setId`. Never creates storage.
   */
  lastKeys(datasetId: number, setIds: number[]): Record<string, (string | number)[] | null> {
    const out: Record<string, (string | number)[] | null> = {};
    const provisioned = this.#hasSchema();
    for (const t of STORE_TABLES) {
      const scopes = t.scope === "dataset" ? [datasetId] : setIds;
      for (const scopeId of scopes) {
        const label = t.scope === "dataset" ? t.name : `${t.name}:${scopeId}`;
        if (!provisioned) {
          out[label] = null;
          continue;
        }
        const cols = t.key.map((k) => `t.${k}`);
        const row = this.ctx.storage.sql
          .exec(`SELECT ${cols.join(", ")} FROM "${t.name}" t WHERE ${t.where} ORDER BY ${cols.map((c) => `${c} DESC`).join(", ")} LIMIT 1`, scopeId)
          .raw()
          .next();
        out[label] = row.done ? null : (row.value as (string | number)[]);
      }
    }
    return out;
  }

  /** Row counts of the dataset's own tables, and the bytes the object occupies. Never creates storage. */
  counts(): StoreCounts {
    const tables: Record<string, number> = {};
    const provisioned = this.#hasSchema();
    for (const t of STORE_TABLES.filter((x) => x.counted)) {
      tables[t.name] = provisioned ? Number(this.ctx.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${t.name}"`).one().n) : 0;
    }
    return { tables, bytes: provisioned ? this.ctx.storage.sql.databaseSize : 0 };
  }

  /**
   * Serves a request the Worker forwarded (src/dataset-store/forward.ts): the whole API app, with `env.DB` split
   * between this object's SQLite and D1 (src/dataset-store/split-d1.ts). The dataset id comes in
   * STORE_DATASET_HEADER; only the Worker can reach an object, so the header is trusted here and nowhere else.
   *
   * The Worker calls this by JS RPC (`stub.serve(request)`), not through `fetch`: the Request and the Response
   * cross as RPC values, bodies as streams, and no redirect is followed. Under `wrangler dev` that call costs about
   * 0.3 ms where a `fetch` into the object costs about 3 ms (BENCHMARKS.md, issue 13, runs F and J).
   */
  async serve(request: Request): Promise<Response> {
    const datasetId = Number(request.headers.get(STORE_DATASET_HEADER));
    if (!Number.isSafeInteger(datasetId) || datasetId < 1) return new Response("no dataset", { status: 400 });
    // A deleted dataset's object is empty: it answers as the API does for a dataset that does not exist.
    if (!this.#hasSchema()) return Response.json(errorBody("Not found.", "store"), { status: 404 });
    const env = await this.#splitEnv(datasetId);
    const ctx = { waitUntil: (p: Promise<unknown>) => this.ctx.waitUntil(p), passThroughOnException() {}, props: {} };
    this.#app ??= buildApp();
    const response = await this.#app.fetch(request, env, ctx as unknown as ExecutionContext);
    // The Worker streams the client's body into this call. A route that answers without reading it (another
    // user's upload: 404 before the body) must still let that stream end: left unread, the Worker's side failed
    // with "Can't read from request stream after response has been sent" and stalled the next request (wrangler
    // dev). The body is bounded by the request size limits the routes already enforce.
    if (request.body && !request.bodyUsed) await request.body.pipeTo(new WritableStream()).catch(() => {});
    return response;
  }

  /** The same as `serve` for a caller that uses the object's `fetch` (none in this Worker but the bench's). */
  async fetch(request: Request): Promise<Response> {
    return this.serve(request);
  }

  /**
   * Runs a queue message about this dataset here (the Worker's consumer forwards it, src/jobs/index.ts), with the
   * same handler and the split `env.DB` as requests get. Throws as the handler throws, so the message is retried.
   */
  async runJob(datasetId: number, msg: JobMessage, meta: JobMeta, deadLetter: boolean): Promise<void> {
    const env = await this.#splitEnv(datasetId);
    const handler = handlers[msg.type as JobType] as JobHandler<JobType>;
    if (deadLetter) await handler.deadLetter?.(msg, env, meta);
    else await handler.run(msg, env, meta);
  }

  /**
   * What a dataset list shows of this dataset beyond its registry row: its first `n` images and its classes by
   * object count (src/services/datasets.ts). The lists read these from each moved dataset's object.
   */
  async listSummary(datasetId: number, n: number): Promise<{ thumbs: FirstImage[]; top: ClassCount[] }> {
    const ctx = await this.#readCtx(datasetId);
    const [thumbs, top] = await Promise.all([firstImages(ctx, [datasetId], n), topClassesByDataset(ctx.db, [datasetId])]);
    return { thumbs: thumbs.get(datasetId) ?? [], top: top.get(datasetId) ?? [] };
  }

  /** One page of the legacy global search over this dataset's `sets` (src/services/search/views.ts). */
  async searchPage(datasetId: number, sets: CandidateSet[], f: Filters, limit: number) {
    const ctx = await this.#readCtx(datasetId);
    return runSearch(ctx.db, planSearch(sets, { ...f, sets: sets.map((s) => s.id) }, []), f, limit, false);
  }

  /** The image rows and contents annotations of `imageIds` in this dataset, for the global search's results. */
  async searchDetails(datasetId: number, imageIds: number[]) {
    const ctx = await this.#readCtx(datasetId);
    const [rows, annotations] = await Promise.all([imageRows(ctx, imageIds), contentsAnnotations(ctx.db, datasetId, imageIds)]);
    return { images: [...rows.values()], annotations };
  }

  async #readCtx(datasetId: number): Promise<ServiceCtx> {
    const env = await this.#splitEnv(datasetId);
    return { db: createDb(env.DB), env, user: null as unknown as ServiceCtx["user"], requestId: `store-${datasetId}` };
  }

  /** The Worker's env with `DB` split between this object and D1, DATASET_STORE_ID and CONTENTS_PAGER set. */
  async #splitEnv(datasetId: number): Promise<Env> {
    await this.#database(false);
    return { ...this.env, DB: splitD1(sqlStorageAsD1(this.ctx.storage), this.env.DB, datasetId), DATASET_STORE_ID: String(datasetId), CONTENTS_PAGER: this.#pages };
  }

  /**
   * The keys among `keys` that an image row of this object points at (the blob sweep asks before deleting a blob
   * that blob_refs says this dataset used). An unprovisioned object uses none. Never creates storage.
   */
  usedBlobs(keys: string[]): string[] {
    if (!this.#hasSchema() || !keys.length) return [];
    return this.ctx.storage.sql
      .exec<{ r2_key: string }>("SELECT DISTINCT r2_key FROM images WHERE r2_key IN (SELECT value FROM json_each(?))", JSON.stringify(keys))
      .toArray()
      .map((r) => r.r2_key);
  }

  /** Deletes every row and the schema (`storage.deleteAll()`); the object is unprovisioned afterwards. */
  async destroy(): Promise<void> {
    this.#db = null;
    this.#provisioned = false;
    this.#pages.clear();
    await this.ctx.storage.deleteAll();
    this.#provisioned = false;
  }
}

/** The store of dataset `datasetId`. Getting a stub creates nothing; storage appears only on the first write. */
export function datasetStore(env: Env, datasetId: number): DurableObjectStub<DatasetStore> {
  return env.DATASETS.get(env.DATASETS.idFromName(String(datasetId)));
}
