import { createRoute } from "@hono/zod-openapi";
import { datasetExists, datasetStoreList, startSwitchOver, storeCopyStatus } from "../dataset-store/migration";
import { conflict, forbidden, notFound } from "../lib/errors";
import { IdPath } from "../lib/params";
import { createRouter } from "../lib/router";
import { StoreCopyQueued, StoreCopyRequest, StoreCopyStatus, StoreList, StoreListQuery, StoreSwitchAllQueued, StoreSwitchStarted } from "../schemas/admin";
import { errorResponses, jsonBody, jsonContent, security } from "../schemas/common";
import { enqueue } from "../storage/queues";
import type { Context } from "hono";
import type { AppEnv } from "../env";

/**
 * Operator routes (superusers only: `users.is_superuser`, set with `wrangler d1 execute`). They start and watch the
 * one-time copy of each dataset from D1 into its DatasetStore (issue 13; README, "Per-dataset Durable Objects").
 */
export const adminRoutes = createRouter();
const tags = ["admin"];

function requireSuperuser(c: Context<AppEnv>) {
  if (!c.var.user.isSuperuser) throw forbidden("Only a superuser may do this.");
}

async function existingDataset(c: Context<AppEnv>, id: number) {
  if (!(await datasetExists(c.env, id))) throw notFound();
}

adminRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/admin/dataset-stores/copy",
    tags,
    security,
    summary: "Queue the copy of one dataset (or of every dataset) from D1 into its Durable Object; resumable and idempotent",
    request: { body: jsonBody(StoreCopyRequest) },
    responses: { 202: jsonContent(StoreCopyQueued, "Queued"), ...errorResponses },
  }),
  async (c) => {
    requireSuperuser(c);
    const { dataset_id } = c.req.valid("json");
    if (dataset_id === undefined) {
      await enqueue(c.env.INGEST, { type: "copy-dataset-stores", afterId: 0 });
      return c.json({ queued: "all" as const }, 202);
    }
    await existingDataset(c, dataset_id);
    await enqueue(c.env.INGEST, { type: "copy-dataset-store", datasetId: dataset_id });
    return c.json({ queued: dataset_id }, 202);
  },
);

adminRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/admin/dataset-stores",
    tags,
    security,
    summary: "Where every dataset is served from and its copy or switch state: totals, and a page of datasets by id",
    request: { query: StoreListQuery },
    responses: { 200: jsonContent(StoreList, "Totals and one page"), ...errorResponses },
  }),
  async (c) => {
    requireSuperuser(c);
    const q = c.req.valid("query");
    return c.json((await datasetStoreList(c.env, { store: q.store, state: q.state, afterId: q.after_id, limit: q.limit })) as never, 200);
  },
);

adminRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/admin/dataset-stores/{id}",
    tags,
    security,
    summary: "A dataset's copy state, and its row counts now in D1 and in its Durable Object",
    request: { params: IdPath },
    responses: { 200: jsonContent(StoreCopyStatus, "Copy state and counts"), ...errorResponses },
  }),
  async (c) => {
    requireSuperuser(c);
    const id = c.req.valid("param").id;
    await existingDataset(c, id);
    return c.json((await storeCopyStatus(c.env, id)) as never, 200);
  },
);



const SWITCH_REFUSED = {
  busy: "An upload or a job is in progress on this dataset; switch it once they are done.",
  switching: "This dataset is already being switched over.",
  moved: "This dataset is already served by its own store.",
  "routing-off": "DATASET_STORE_ROUTING is not \"on\": a switched dataset would not be served by its store.",
} as const;

adminRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/admin/dataset-stores/{id}/switch",
    tags,
    security,
    summary: "Move a dataset to its Durable Object: freeze its writes (503), copy it afresh, check the counts, route it there",
    request: { params: IdPath },
    responses: { 202: jsonContent(StoreSwitchStarted, "Frozen; the switch-over job is queued"), ...errorResponses },
  }),
  async (c) => {
    requireSuperuser(c);
    const id = c.req.valid("param").id;
    await existingDataset(c, id);
    const started = await startSwitchOver(c.env, id);
    if (started !== "frozen") throw conflict(SWITCH_REFUSED[started]);
    return c.json({ dataset_id: id, store: "frozen" as const }, 202);
  },
);

adminRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/admin/dataset-stores/switch",
    tags,
    security,
    summary: "Switch every dataset still served by D1 over to its Durable Object (a queued fan-out; busy datasets are skipped)",
    responses: { 202: jsonContent(StoreSwitchAllQueued, "The fan-out is queued"), ...errorResponses },
  }),
  async (c) => {
    requireSuperuser(c);
    if (c.env.DATASET_STORE_ROUTING !== "on") throw conflict(SWITCH_REFUSED["routing-off"]);
    await enqueue(c.env.INGEST, { type: "switch-dataset-stores", afterId: 0 });
    return c.json({ queued: "all" as const }, 202);
  },
);
