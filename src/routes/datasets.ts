import { createRoute } from "@hono/zod-openapi";
import { IdPath } from "../lib/params";
import { PageQuery, toPage } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { errorResponses, jsonBody, jsonContent, pageOf, security } from "../schemas/common";
import { CreateDatasetBody, DatasetDetail, DatasetItem, DatasetListQuery, LegacyDatasetItem, UpdateDatasetBody } from "../schemas/datasets";
import { serviceCtx } from "../services/context";
import {
  createDataset,
  datasetDetail,
  deleteDataset,
  getDataset,
  listDatasetItems,
  listLegacyDatasetItems,
  updateDataset,
} from "../services/datasets";

export const datasetRoutes = createRouter();
const tags = ["datasets"];

datasetRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/dataset",
    tags,
    security,
    summary: "Create a dataset (name made unique per owner: `Name (1)`); 200 as Remo answers",
    request: { body: jsonBody(CreateDatasetBody) },
    responses: { 200: jsonContent(DatasetDetail, "The new dataset"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const row = await createDataset(ctx, c.req.valid("json"));
    return c.json(await datasetDetail(ctx, row), 200);
  },
);

datasetRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/dataset",
    tags,
    security,
    summary: "Legacy list of active datasets (ListDatasetSerializer)",
    request: { query: PageQuery },
    responses: { 200: jsonContent(pageOf(LegacyDatasetItem), "Datasets"), ...errorResponses },
  }),
  async (c) => {
    const page = c.req.valid("query");
    const { count, results } = await listLegacyDatasetItems(serviceCtx(c), page);
    return c.json(toPage(c.req.url, page, count, results), 200);
  },
);

datasetRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/datasets",
    tags,
    security,
    summary: "The caller's datasets and public ones, by id",
    request: { query: DatasetListQuery },
    responses: { 200: jsonContent(pageOf(DatasetItem), "Datasets"), ...errorResponses },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const { count, results } = await listDatasetItems(serviceCtx(c), { isPublic: q.is_public, isArchived: q.is_archived }, q);
    return c.json(toPage(c.req.url, q, count, results), 200);
  },
);

datasetRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/datasets/{id}",
    tags,
    security,
    summary: "One dataset",
    request: { params: IdPath },
    responses: { 200: jsonContent(DatasetDetail, "The dataset"), ...errorResponses },
  }),
  async (c) => c.json(await getDataset(serviceCtx(c), c.req.valid("param").id), 200),
);

datasetRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/api/v1/ui/datasets/{id}",
    tags,
    security,
    summary: "Rename, archive, publish or license a dataset (owner only)",
    request: { params: IdPath, body: jsonBody(UpdateDatasetBody) },
    responses: { 200: jsonContent(DatasetDetail, "The dataset"), ...errorResponses, 409: errorResponses[400] },
  }),
  async (c) => c.json(await updateDataset(serviceCtx(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

for (const path of ["/api/v1/ui/datasets/{id}", "/api/user-dataset/{id}", "/api/dataset/{id}"]) {
  datasetRoutes.openapi(
    createRoute({
      method: "delete",
      path,
      tags,
      security,
      summary: "Delete a dataset and everything in it (owner only); unused blobs are swept by a queued job",
      request: { params: IdPath },
      responses: { 204: { description: "Deleted" }, ...errorResponses },
    }),
    async (c) => {
      await deleteDataset(serviceCtx(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
}

