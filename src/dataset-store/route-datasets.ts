import type { Env } from "../env";
import { IMAGE_DATASET, SET_DATASET } from "./locate";

/**
 * For every route the Worker serves, where the dataset it is about comes from (issue 13): the part of the request
 * that names it, and so which DatasetStore serves it once the dataset has moved. A test checks that this table
 * names every route of the app exactly, so a new route cannot be added without deciding.
 *
 * - `dataset`: a path parameter is the dataset id;
 * - `set`: a path parameter is an annotation set id (D1's set registry gives the dataset);
 * - `image`: a path parameter is an image id, or a DZI/IIIF token whose first `~` field is one (image id ranges);
 * - `upload`: an upload session id (D1's `upload_sessions.dataset_id`; uploads are control plane);
 * - `job`: an export job id (D1's `jobs.dataset_id`);
 * - `body`: the JSON body's field is the dataset id (creating a set or an upload session);
 * - `many`: reads across datasets from the registry, or fans out over them (lists, the global search);
 * - `none`: touches no dataset's rows (auth, users, the global class list, pages without data, operator routes).
 */
export type RouteDataset =
  | { by: "dataset" | "set" | "image" | "upload" | "job"; param: string }
  | { by: "body"; field: string }
  | { by: "many" | "none" };

const ds = (param = "id"): RouteDataset => ({ by: "dataset", param });
const set = (param = "id"): RouteDataset => ({ by: "set", param });
const image = (param = "id"): RouteDataset => ({ by: "image", param });
const upload: RouteDataset = { by: "upload", param: "sid" };
const job: RouteDataset = { by: "job", param: "jobId" };
const body = (field: string): RouteDataset => ({ by: "body", field });
const many: RouteDataset = { by: "many" };
const none: RouteDataset = { by: "none" };

/** Keyed by `METHOD routePath`, the path exactly as Hono registers it (`app.routes`). */
export const ROUTE_DATASETS: Record<string, RouteDataset> = {
  // Datasets, folders, contents, images by dataset
  "POST /api/dataset": none, // creates the registry row; the object is created from it
  "GET /api/dataset": many,
  "GET /api/v1/ui/datasets": many,
  "GET /api/v1/ui/datasets/:id": ds(),
  "PATCH /api/v1/ui/datasets/:id": ds(),
  "DELETE /api/v1/ui/datasets/:id": ds(),
  "DELETE /api/dataset/:id": ds(),
  "DELETE /api/user-dataset/:id": ds(),
  "GET /api/v1/ui/datasets/:id/annotation-sets": ds(),
  "GET /api/v1/ui/datasets/:id/contents": ds(),
  "GET /api/v1/ui/datasets/:id/contents/:folder_id": ds(),
  "GET /api/user-dataset/:id/contents": ds(),
  "GET /api/user-dataset/:id/contents/:folder_id": ds(),
  "POST /api/user-dataset/:id/folders": ds(),
  "PATCH /api/user-dataset/:id/folders/:folder_id": ds(),
  "DELETE /api/user-dataset/:id/folders/:folder_id": ds(),
  "GET /api/v1/ui/datasets/:id/images": ds(),
  "GET /api/v1/ui/datasets/:id/images/:image_id": ds(),
  "GET /api/v1/ui/datasets/:id/images/:image_id/annotations": ds(),
  "GET /api/v1/sdk/datasets/:id/images": ds(),
  "POST /api/dataset/:id/upload": ds(),
  // Annotation sets (legacy routes that also name the dataset still resolve through the set: it must be in it)
  "POST /api/annotation-set": body("dataset"),
  "POST /api/v1/ui/annotation-sets": body("dataset_id"),
  "GET /api/annotation-set/:id": set(),
  "GET /api/v1/ui/annotation-sets/:id": set(),
  "PUT /api/v1/ui/annotation-sets/:id": set(),
  "DELETE /api/v1/ui/annotation-sets/:id": set(),
  "POST /api/v1/ui/annotation-sets/:id/classes": set(),
  "PUT /api/v1/ui/annotation-sets/:id/classes/:class_id": set(),
  "DELETE /api/v1/ui/annotation-sets/:id/classes/:class_id": set(),
  "GET /api/v1/ui/annotation-sets/:id/tags": set(),
  "PUT /api/v1/ui/annotation-sets/:id/tags/:tag_id": set(),
  "DELETE /api/v1/ui/annotation-sets/:id/tags/:tag_id": set(),
  "GET /api/v1/ui/annotation-sets/:id/insights": set(),
  "GET /api/v1/ui/annotation-sets/:id/export": set(),
  "GET /api/v1/ui/annotation-sets/:id/export-count": set(),
  "GET /api/v1/ui/annotation-sets/:id/export-tags": set(),
  "POST /api/v1/ui/annotation-sets/:id/exports": set(),
  "GET /api/v1/ui/annotation-sets/:set/images": set("set"),
  "GET /api/v1/ui/annotation-sets/:set/images/:image/tags": set("set"),
  "POST /api/v1/ui/annotation-sets/:set/images/:image/tags": set("set"),
  "DELETE /api/v1/ui/annotation-sets/:set/images/:image/tags/:tag_id": set("set"),
  "PUT /api/v1/ui/annotation-sets/:set/images/:img/annotations": set("set"),
  "DELETE /api/v1/ui/annotation-sets/:set/images/:img/annotations": set("set"),
  "POST /api/v1/ui/annotation-sets/:set/images/:img/status": set("set"),
  "GET /api/dataset/:ds/annotation-set/:set/image": set("set"),
  "GET /api/dataset/:ds/annotation-set/:set/image/:img/annotation": set("set"),
  "POST /api/dataset/:ds/annotation-set/:set/image/:img/save-annotation": set("set"),
  // Images by id, their bytes, pyramids and tokens
  "GET /api/v1/sdk/images/:id": image(),
  "DELETE /api/v1/ui/images/:id": image(),
  "GET /api/v1/ui/images/:id/cache": image(),
  "GET /api/v1/ui/images/:id/deepzoom": image(),
  "GET /api/v1/ui/images/:id/downsample": image(),
  "GET /files/images/:id/:file": image(),
  "GET /files/images/:id/original/:name": image(),
  "GET /dzi/:file": image("file"),
  "GET /dzi/:base/:level/:tile": image("base"),
  "GET /iiif/3/:token": image("token"),
  "GET /iiif/3/:token/info.json": image("token"),
  "GET /iiif/3/:token/:region/:size/:rotation/:file": image("token"),
  // Search across datasets
  "GET /api/v1/ui/search": many,
  // Uploads and jobs (control plane, each knows its dataset)
  "POST /api/v1/ui/uploads": body("dataset_id"),
  "GET /api/v1/ui/uploads": many,
  "GET /api/v1/ui/uploads/:sid/status": upload,
  "POST /api/v1/ui/uploads/:sid/complete": upload,
  "PUT /api/v1/uploads/:sid/blobs/:n": upload,
  "POST /api/v1/uploads/:sid/direct": upload,
  "GET /api/v1/jobs/:id": none, // the job row (D1) holds its progress and result
  "GET /files/exports/:jobId/:name": job,
  "HEAD /files/exports/:jobId/:name": job,
  // Users, auth, the global class list, operators, assets
  "POST /api/signup": none,
  "POST /api/rest-auth/login": none,
  "POST /api/rest-auth/logout": none,
  "GET /api/user-info": none,
  "GET /api/common-class": none,
  "POST /api/common-class": none,
  "POST /api/v1/admin/dataset-stores/copy": none,
  "GET /api/v1/admin/dataset-stores": none,
  "POST /api/v1/admin/dataset-stores/switch": none,
  "GET /api/v1/admin/dataset-stores/:id": none,
  "POST /api/v1/admin/dataset-stores/:id/switch": none,
  "GET /healthz": none,
  "GET /openapi.json": none,
  "GET /docs": none,
  "GET /assets/*": none,
  // Pages (each page's data comes from the API routes above; the shell checks access against the same dataset)
  "GET /": none,
  "GET /login": none,
  "GET /datasets": many,
  "GET /datasets/filtered/images": many,
  "GET /datasets/:id{[0-9]{1,15}}": ds(),
  "GET /image/:id{[0-9]{1,15}}": image(),
  "GET /annotation/:set{[0-9]{1,15}}": set("set"),
  "GET /annotation/:set{[0-9]{1,15}}/image/:image{[0-9]{1,15}}": set("set"),
  "GET /annotation-detail/:set{[0-9]{1,15}}/insights": set("set"),
};

/** The image id a DZI/IIIF/bytes path parameter names: `123`, `123~exp~sig`, `123~exp~sig.dzi`, `123_files`. */
export function imageIdOfParam(raw: string): number | null {
  const m = /^(\d{1,15})(?:~|\.dzi$|_files$|$)/.exec(raw);
  return m ? Number(m[1]) : null;
}

const positiveId = (raw: unknown): number | null => {
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
};

/** A request's dataset and where it is served from (`datasets.store`: 'd1', 'frozen' or 'object'). */
export interface RouteTarget {
  datasetId: number;
  store: string;
}

const TARGET = "SELECT d.id AS dataset_id, d.store FROM datasets d WHERE d.id = ";

/**
 * The dataset request `route` (an entry of ROUTE_DATASETS) is about, and where that dataset is served from, given
 * the path parameters and, for `body` routes, the parsed JSON body. Null when the route names no single dataset
 * (`many`, `none`) or when the id names nothing (the route then answers 404 as it does today). One D1 statement,
 * or none for a malformed id; it never creates anything.
 */
export async function datasetOfRoute(
  env: Env,
  route: RouteDataset,
  params: Record<string, string>,
  json?: unknown,
): Promise<RouteTarget | null> {
  let st: D1PreparedStatement | null = null;
  switch (route.by) {
    case "dataset": {
      const id = positiveId(params[route.param]);
      if (id !== null) st = env.DB.prepare(`${TARGET}?1`).bind(id);
      break;
    }
    case "body": {
      const id = json !== null && typeof json === "object" ? positiveId((json as Record<string, unknown>)[route.field]) : null;
      if (id !== null) st = env.DB.prepare(`${TARGET}?1`).bind(id);
      break;
    }
    case "set": {
      const id = positiveId(params[route.param]);
      if (id !== null) st = env.DB.prepare(`${TARGET}(${SET_DATASET})`).bind(id);
      break;
    }
    case "image": {
      const id = imageIdOfParam(params[route.param] ?? "");
      if (id !== null) st = env.DB.prepare(`${TARGET}(${IMAGE_DATASET})`).bind(id);
      break;
    }
    case "upload":
      st = env.DB.prepare(`${TARGET}(SELECT dataset_id FROM upload_sessions WHERE id = ?1)`).bind(params[route.param] ?? "");
      break;
    case "job": {
      const id = positiveId(params[route.param]);
      if (id !== null) st = env.DB.prepare(`${TARGET}(SELECT dataset_id FROM jobs WHERE id = ?1)`).bind(id);
      break;
    }
  }
  const row = st && (await st.first<{ dataset_id: number; store: string }>());
  return row ? { datasetId: row.dataset_id, store: row.store } : null;
}
