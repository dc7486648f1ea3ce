import type { MiddlewareHandler } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import type { AppEnv, Env } from "../env";
import { errorBody } from "../lib/errors";
import type { JobMessage } from "../jobs/messages";
import { ROUTE_DATASETS, datasetOfRoute, imageIdOfParam, type RouteDataset, type RouteTarget } from "./route-datasets";
import { datasetStore } from "./store";

/** The header that carries the dataset id from the Worker into the DatasetStore it forwards a request to. */
export const STORE_DATASET_HEADER = "x-remo-dataset-store";
/** Seconds a client is told to wait while a dataset is frozen for its switch-over. */
export const FROZEN_RETRY_AFTER_S = 30;

const router = new TrieRouter<RouteDataset>();
for (const [key, locator] of Object.entries(ROUTE_DATASETS)) {
  const [method, path] = key.split(" ");
  router.add(method, path, locator);
}

/** ROUTE_DATASETS' entry for a request and its path parameters (trailing slashes ignored, as the app does). */
export function matchRoute(method: string, path: string): { route: RouteDataset; params: Record<string, string> } | null {
  const clean = path.length > 1 ? path.replace(/\/+$/, "") : path;
  for (const m of method === "HEAD" ? ["HEAD", "GET"] : [method]) {
    const [matches] = router.match(m, clean) as unknown as [[RouteDataset, Record<string, string>][]];
    const hit = matches.find(([r]) => r.by !== "none" && r.by !== "many") ?? matches[0];
    if (hit) return { route: hit[0], params: hit[1] };
  }
  return null;
}

/** Entries kept per isolate of "this id names a dataset served by its object". */
const MOVED_CACHE_ENTRIES = 10_000;
/**
 * Request locators (`set:12`, `image:345`, …) known to name a dataset served by its object. Such an answer never
 * changes (a dataset does not move back, a set or image does not change dataset; a deleted dataset's object answers
 * 404), so it is kept for the isolate's life and saves the D1 lookup: a request then costs one RPC. Datasets still
 * in D1 are looked up every time, since they may be switched over at any moment.
 */
const MOVED = new Map<string, number>();

function remember(key: string, datasetId: number): void {
  if (MOVED.size >= MOVED_CACHE_ENTRIES) MOVED.delete(MOVED.keys().next().value!);
  MOVED.set(key, datasetId);
}

/** Forgets every cached route (tests, whose storage and ids start again between cases). */
export function forgetMovedRoutes(): void {
  MOVED.clear();
}

function routeKey(route: RouteDataset, params: Record<string, string>, json: unknown): string | null {
  if (route.by === "body") {
    const v = json !== null && typeof json === "object" ? (json as Record<string, unknown>)[route.field] : undefined;
    return typeof v === "number" || typeof v === "string" ? `dataset:${v}` : null;
  }
  if (!("param" in route)) return null;
  const v = params[route.param];
  if (v === undefined) return null;
  return route.by === "image" ? `image:${imageIdOfParam(v) ?? v}` : `${route.by}:${v}`;
}

/**
 * Sends a request about a moved dataset to its DatasetStore, which runs this same app on its own SQLite (issue 13);
 * requests about datasets still in D1 go on untouched. While a dataset is frozen for its switch-over, its reads are
 * served from D1 and its writes answer 503 with Retry-After. Runs only when `DATASET_STORE_ROUTING` is "on"
 * (a request about a dataset still in D1 costs one D1 read more), and never inside an object.
 */
export const forwardToDatasetStore = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  // Inside an object, DATASET_STORE_ID is set: a request header could not say so (clients may send any header).
  if (c.env.DATASET_STORE_ROUTING !== "on" || c.env.DATASET_STORE_ID) return next();
  const hit = matchRoute(c.req.method, c.req.path);
  if (!hit || hit.route.by === "none" || hit.route.by === "many") return next();
  // Only the two create routes name their dataset in the body; a body that is not JSON is theirs to refuse.
  const isJson = /\bjson\b/i.test(c.req.header("content-type") ?? "");
  const json = hit.route.by === "body" && isJson ? await c.req.raw.clone().json().catch(() => null) : undefined;
  const key = routeKey(hit.route, hit.params, json);
  const cached = key === null ? undefined : MOVED.get(key);
  const target = cached !== undefined ? { datasetId: cached, store: "object" } : await datasetOfRoute(c.env, hit.route, hit.params, json);
  if (target === null) return next();
  const { datasetId, store: state } = target;
  if (state === "object" && key !== null && cached === undefined) remember(key, datasetId);
  if (state === "frozen" && c.req.method !== "GET" && c.req.method !== "HEAD") {
    const body = errorBody("This dataset is being moved to its own store; writes resume shortly.", c.get("requestId"));
    return c.json(body, 503, { "retry-after": String(FROZEN_RETRY_AFTER_S) });
  }
  if (state !== "object") return next();
  // One JS RPC call with the Request as its argument (a `fetch` into the object costs ~8× more locally, runs F and J
  // in BENCHMARKS.md). A redirect the object answers (IIIF's bare id → info.json) comes back as it is, for the client.
  const forwarded = new Request(c.req.raw);
  forwarded.headers.set(STORE_DATASET_HEADER, String(datasetId));
  return datasetStore(c.env, datasetId).serve(forwarded);
};

/**
 * The dataset a queue message works on, when that dataset has moved to its DatasetStore (so the consumer must run
 * it there); null otherwise. Ingest messages find it through their upload session, exports through their job row,
 * pyramids through the image id's range. Other messages are control plane.
 */
export async function movedDatasetOfJob(env: Env, msg: JobMessage): Promise<number | null> {
  if (env.DATASET_STORE_ROUTING !== "on") return null;
  let target: RouteTarget | null = null;
  switch (msg.type) {
    case "ingest-session":
    case "ingest-item":
    case "ingest-annotations":
      target = await datasetOfRoute(env, { by: "upload", param: "sid" }, { sid: msg.sessionId });
      break;
    case "export":
      target = await datasetOfRoute(env, { by: "job", param: "id" }, { id: String(msg.jobId) });
      break;
    case "build-pyramid":
      target = await datasetOfRoute(env, { by: "image", param: "id" }, { id: String(msg.imageId) });
      break;
    default:
      return null;
  }
  return target?.store === "object" ? target.datasetId : null;
}
