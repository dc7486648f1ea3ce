/**
 * Benchmark-only Worker (bench/dataset-store.bench.mjs runs `wrangler dev` with this as its main script): the real
 * Worker, plus what the benchmark needs to compare D1 with per-dataset Durable Objects on the same seed before
 * requests are routed to the objects in production (issue 13).
 *
 * - `POST /bench/copy/{dataset}`: one budgeted pass of the production copy (copyDatasetToStore); call until done.
 * - `GET /bench/counts/{dataset}`: D1's and the object's row counts, and the object's bytes.
 * - `POST /bench/key/{dataset}`: copies the dataset owner's API key rows into the object, so the app running
 *   inside it authenticates locally (bench only: API keys stay in D1 in the design).
 * - `/bench/store/{dataset}/<any API path>`: the request is forwarded, in one RPC, to the dataset's object, which
 *   runs the same Hono app on its own SQLite (the D1 interface of src/dataset-store/sql-d1.ts). This is the shape a
 *   routed request will have: one RPC, then synchronous SQL inside the object.
 * - `POST /bench/switch/{dataset}`: the end of the production switch-over (image id ranges, registry row says
 *   'object'); from then on the plain API paths are routed to the object by the production Worker.
 * - `POST /bench/prune/{dataset}?budget_ms=`: the production prune of D1's copy of a switched dataset
 *   (runD1Prune) in this request; past the budget it queues the rest itself, as in production.
 * - `GET /bench/noop`: answered by this Worker at once (no app, no auth): the local HTTP path alone.
 * - `GET /bench/hop/{dataset}`: one `fetch` RPC to the dataset's object, answered there at once (no app): the hop
 *   as it was until run F.
 * - `GET /bench/rpc/{dataset}`, `GET /bench/rpcreq/{dataset}`: one JS RPC call answered at once, without and with a
 *   Request argument and a Response result: the hop as the Worker forwards now (`serve`).
 * - `GET /bench/sqlloop/{dataset}?n=&first=&images=`: the SQL alone of `n` contents pages, run inside the object.
 * - `GET /bench/serveloop/{dataset}/<API path>?bench_n=&bench_offsets=`: `bench_n` forwarded requests served inside
 *   one RPC call (no HTTP, no hop per request).
 * - `GET /bench/objtrips/{dataset}`: D1 round trips the bench's objects made so far (their `env.DB` counts them).
 * - `/bench/norouting/<any API path>`: the production Worker with DATASET_STORE_ROUTING off: today's D1 path.
 * - `/bench/trips/<any API path>`: the request as the production Worker serves it from D1, answered with header
 *   `x-d1-round-trips`: the D1 calls it made (each `first`/`all`/`run`/`raw` is one, a `batch` is one). Round
 *   trips are what the object removes; locally D1 is in-process, in production each one crosses the network.
 * Never deployed; not reachable from the production Worker.
 */
import { buildApp } from "../../src/app";
import { compareStoreCounts, copyDatasetToStore } from "../../src/dataset-store/copy-from-d1";
import { STORE_DATASET_HEADER } from "../../src/dataset-store/forward";
import { registerLegacyImageRanges } from "../../src/dataset-store/locate";
import { runD1Prune } from "../../src/dataset-store/prune-d1";
import { sqlStorageAsD1 } from "../../src/dataset-store/sql-d1";
import { DatasetStore as ProductionStore, datasetStore } from "../../src/dataset-store/store";
import type { Env } from "../../src/env";
import worker from "../../src/index";

const app = buildApp();

export class DatasetStore extends ProductionStore {
  /** D1 round trips this object made (every statement the split sends to D1), for `/bench/objtrips/{id}`. */
  static d1Trips = { n: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, { ...env, DB: countingD1(env.DB, DatasetStore.d1Trips) });
  }

  /** Bench only: D1 round trips this object's isolate made so far. */
  benchD1Trips(): number {
    return DatasetStore.d1Trips.n;
  }

  /**
   * A request the production Worker forwarded (it carries STORE_DATASET_HEADER) is served as in production; a
   * `/bench/store/...` request runs the whole API app on this object's SQLite alone.
   */
  async fetch(request: Request): Promise<Response> {
    if (request.headers.has(STORE_DATASET_HEADER)) return super.fetch(request);
    if (new URL(request.url).pathname === "/bench-hop") return json({ hop: true });
    const local = sqlStorageAsD1(this.ctx.storage);
    const ctx = { waitUntil: (p: Promise<unknown>) => this.ctx.waitUntil(p), passThroughOnException() {}, props: {} };
    return app.fetch(request, { ...this.env, DB: local }, ctx as unknown as ExecutionContext);
  }

  /** Bench only: an RPC method that answers at once (the cost of a JS RPC call, against a `fetch` RPC). */
  benchPing(): { ping: true } {
    return { ping: true };
  }

  /** Bench only: a Request passed by JS RPC, answered at once with a Response. */
  async benchServe(request: Request): Promise<Response> {
    return json({ served: request.url.length > 0 });
  }

  /**
   * Bench only: runs the SQL of `n` routed contents pages (the statements the object runs for one page, each page
   * at a random offset of dataset `datasetId`'s root folder of `images` images from `first`), as `SqlStorage` calls with `toArray()`: the
   * caller times the whole call, since time does not advance inside one (Workers' timers).
   */
  benchContentsSql(n: number, datasetId: number, first: number, images: number): number {
    const sql = this.ctx.storage.sql;
    let rows = 0;
    for (let k = 0; k < n; k++) {
      const start = first + Math.floor(Math.random() * (images - 32));
      const ids = JSON.stringify(Array.from({ length: 32 }, (_, i) => start + i));
      rows += sql.exec("SELECT owner_id, is_public, 1 AS folder_ok FROM datasets WHERE id = ?", datasetId).toArray().length;
      rows += sql.exec("SELECT * FROM images WHERE id IN (SELECT value FROM json_each(?)) AND dataset_id = ? AND folder_id IS NULL ORDER BY id", ids, datasetId).toArray().length;
      rows += sql.exec("SELECT id FROM annotation_sets WHERE dataset_id = ? ORDER BY id", datasetId).toArray().length;
      rows += sql
        .exec(
          "SELECT o.id, o.set_id, o.image_id, o.coordinates FROM annotation_objects o WHERE o.set_id IN (SELECT id FROM annotation_sets WHERE dataset_id = ?) AND o.image_id IN (SELECT value FROM json_each(?)) ORDER BY o.set_id, o.image_id, o.position, o.id",
          datasetId,
          ids,
        )
        .toArray().length;
      rows += sql
        .exec(
          "SELECT ac.set_id, ac.image_id, ac.object_id, c.name FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id WHERE ac.set_id IN (SELECT id FROM annotation_sets WHERE dataset_id = ?) AND ac.image_id IN (SELECT value FROM json_each(?)) ORDER BY ac.id",
          datasetId,
          ids,
        )
        .toArray().length;
      rows += sql
        .exec("SELECT it.set_id, it.image_id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.image_id IN (SELECT value FROM json_each(?)) ORDER BY t.name", ids)
        .toArray().length;
    }
    return rows;
  }

  /**
   * Bench only: serves `n` routed requests inside one RPC call (`serve`, as the Worker's forward calls it, with a
   * random `offset` in `[0, offsets)` when `offsets` > 0), reading each answer whole: the caller times the call.
   */
  async benchServeLoop(n: number, datasetId: number, url: string, auth: string, offsets: number): Promise<number> {
    let bytes = 0;
    for (let k = 0; k < n; k++) {
      const u = new URL(url);
      if (offsets > 0) u.searchParams.set("offset", String(Math.floor(Math.random() * offsets)));
      const res = await this.serve(new Request(u, { headers: { authorization: auth, [STORE_DATASET_HEADER]: String(datasetId) } }));
      if (!res.ok) throw new Error(`${u.pathname}: ${res.status} ${await res.text()}`);
      bytes += (await res.arrayBuffer()).byteLength;
    }
    return bytes;
  }

  /** Bench only: the owner's API key rows, so the app inside authenticates. */
  benchImportKeys(rows: [number, number, string, string][]): void {
    for (const [id, userId, hash, created] of rows) {
      this.ctx.storage.sql.exec(
        "INSERT INTO api_keys (id, user_id, key_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        id,
        userId,
        hash,
        created,
      );
    }
  }
}

/** `env.DB` that counts round trips into `count.n`. */
function countingD1(db: D1Database, count: { n: number }): D1Database {
  // D1's batch() takes only its own statements: remember the real one behind every proxy handed out.
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (st: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(st, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args));
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw")
          return (...args: unknown[]) => {
            count.n++;
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    real.set(proxy, st);
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (q: string) => wrap(target.prepare(q));
      if (prop === "batch")
        return (stmts: D1PreparedStatement[]) => {
          count.n++;
          return target.batch(stmts.map((s) => real.get(s) ?? s));
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/bench/norouting/")) {
      const inner = new Request(new URL(url.pathname.slice("/bench/norouting".length) + url.search, url.origin), request);
      return worker.fetch(inner, { ...env, DATASET_STORE_ROUTING: "off" }, ctx);
    }
    if (url.pathname.startsWith("/bench/trips/")) {
      const count = { n: 0 };
      const inner = new Request(new URL(url.pathname.slice("/bench/trips".length) + url.search, url.origin), request);
      const res = await worker.fetch(inner, { ...env, DB: countingD1(env.DB, count), DATASET_STORE_ROUTING: "off" }, ctx);
      const out = new Response(res.body, res);
      out.headers.set("x-d1-round-trips", String(count.n));
      return out;
    }
    if (url.pathname === "/bench/noop") return json({ noop: true });
    const m = /^\/bench\/(copy|counts|hop|key|objtrips|rpc|rpcreq|serveloop|sqlloop|prune|store|switch)\/(\d+)(\/.*)?$/.exec(url.pathname);
    if (!m) return worker.fetch(request, env, ctx);
    const [, verb, id, rest] = m;
    const datasetId = Number(id);
    if (verb === "copy") return json(await copyDatasetToStore(env, datasetId, { budgetMs: Number(url.searchParams.get("budget_ms") ?? 20_000) }));
    if (verb === "counts") return json(await compareStoreCounts(env, datasetId));
    if (verb === "prune") return json(await runD1Prune(env, datasetId, { budgetMs: Number(url.searchParams.get("budget_ms") ?? 20_000) }));
    if (verb === "switch") {
      // The end of the production switch-over (runSwitchOver) for a dataset the bench copied and counted itself.
      const ranges = await registerLegacyImageRanges(env, datasetId);
      await env.DB.prepare("UPDATE datasets SET store = 'object' WHERE id = ?").bind(datasetId).run();
      return json({ ranges });
    }
    const stub = datasetStore(env, datasetId) as unknown as DurableObjectStub<DatasetStore>;
    if (verb === "key") {
      const keys = await env.DB.prepare(
        "SELECT k.id, k.user_id, k.key_hash, k.created_at FROM api_keys k JOIN datasets d ON d.owner_id = k.user_id WHERE d.id = ?",
      )
        .bind(datasetId)
        .raw<[number, number, string, string]>();
      await stub.benchImportKeys(keys);
      return json({ keys: keys.length });
    }
    if (verb === "objtrips") return json({ trips: await stub.benchD1Trips() });
    if (verb === "serveloop") {
      const target = new URL((rest ?? "/") + url.search, url.origin);
      const n = Number(target.searchParams.get("bench_n") ?? 1);
      const offsets = Number(target.searchParams.get("bench_offsets") ?? 0);
      target.searchParams.delete("bench_n");
      target.searchParams.delete("bench_offsets");
      return json({ bytes: await stub.benchServeLoop(n, datasetId, target.toString(), request.headers.get("authorization") ?? "", offsets) });
    }
    if (verb === "sqlloop")
      return json({ rows: await stub.benchContentsSql(Number(url.searchParams.get("n") ?? 1), datasetId, Number(url.searchParams.get("first") ?? 1), Number(url.searchParams.get("images") ?? 1)) });
    if (verb === "rpc") return json(await stub.benchPing());
    if (verb === "rpcreq") return stub.benchServe(new Request(new URL("/bench-hop", url.origin)));
    if (verb === "hop") return stub.fetch(new Request(new URL("/bench-hop", url.origin)));
    return stub.fetch(new Request(new URL((rest ?? "/") + url.search, url.origin), request));
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env, never>;
