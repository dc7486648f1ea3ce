import { createRoute } from "@hono/zod-openapi";
import { datasetExists, storeCopyStatus } from "../dataset-store/migration";
import { forbidden, notFound } from "../lib/errors";
import { IdPath } from "../lib/params";
import { createRouter } from "../lib/router";
import { StoreCopyQueued, StoreCopyRequest, StoreCopyStatus } from "../schemas/admin";
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


